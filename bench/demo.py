"""The embedded default as `make demo` runs it, on a fresh clone of this checkout: its wall time, and the
wall and CPU seconds of each stage (rule), read from the jobs' benchmark files, beside the day's bare cnn
loop (bench/trainer.py's, in images/s) so that a figure from a slow day can be told from a regression.

    python bench/demo.py [--cores 2] [--out bench/results/demo.md]

With ``--out`` it also writes each rule's CPU seconds per job to src/synthval/plan/stage_costs.json, from
which the plan that ``synthval run`` prints estimates a run's time.

The clone shares this checkout's .venv (installed already: the figure is the run's, not the
installation's). The run's Snakemake log and results stay in a temporary folder printed at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine
from trainer import bare_loop

from synthval.classifiers import create_classifier
from synthval.runtime import setup, stage_times

ROOT = Path(__file__).resolve().parents[1]


def bare_cnn_images_per_second(images: int = 1000, epochs: int = 2, size: int = 16) -> float:
    """bench/trainer.py's bare PyTorch loop over the default's cnn, one thread: the day's machine speed."""
    setup(1, seed=0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, size, size, 1), dtype=np.uint8)
    y = (np.arange(images) % 10).astype(np.int64)
    torch.manual_seed(0)
    model = create_classifier("cnn", 10, 1, size)
    bare_loop(model.body, x, y, 1, 64, 0.05)  # warm-up: a fresh process's first steps cost several times more
    start = time.perf_counter()
    bare_loop(model.body, x, y, epochs, 64, 0.05)
    return images * epochs / (time.perf_counter() - start)


#: Where the plan's time estimate reads each rule's cost per job (synthval.plan.summary)
COSTS = ROOT / "src" / "synthval" / "plan" / "stage_costs.json"


def write_costs(stages, setting: str, path: Path = COSTS) -> None:
    """Each rule's CPU seconds per job in this run, with the default's scale, for the plan's estimate."""
    import json

    import yaml

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    iterations = [g["iterations"] for g in config["generators"].values()]
    costs = {
        "source": f"bench/results/demo.md: {setting}",
        "scale": {
            "images": next(iter(config["data"]["train_sizes"].values())),
            "image_size": config["data"]["image_size"],
            "zoo_epochs": config["zoo"]["epochs"],
            "study_epochs": config["training"]["epochs"],
            "generator_iterations": sum(iterations) / len(iterations),
        },
        "cpu_seconds_per_job": {
            rule: round(cpu / jobs, 1) for rule, jobs, cpu in stages.select("stage", "jobs", "CPU s (sum)").rows()
        },
    }
    path.write_text(json.dumps(costs, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    before = bare_cnn_images_per_second()
    work = Path(tempfile.mkdtemp(prefix="synthval-demo-"))
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(work)], check=True)
    (work / ".venv").symlink_to(ROOT / ".venv")
    command = [str(work / ".venv" / "bin" / "synthval"), "run", "-c", "config/config.yaml", "--cores", str(args.cores)]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the demo failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    after = bare_cnn_images_per_second()
    stages = stage_times(work / "results" / "benchmarks").sort("CPU s (sum)", descending=True)
    rows = stages.select("stage", "jobs", "wall s (sum)", "CPU s (sum)", "wall s (longest job)").rows()
    jobs, job_wall, cpu = sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)
    table = [[rule, str(n), f"{w:.0f}", f"{c:.0f}", f"{longest:.0f}"] for rule, n, w, c, longest in rows] + [
        ["**all benchmarked jobs**", str(jobs), f"**{job_wall:.0f}**", f"**{cpu:.0f}**", ""]
    ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=work, capture_output=True, text=True)
    setting = (
        f"{machine(args.cores)}; `synthval run -c config/config.yaml --cores {args.cores}` on a fresh clone of "
        f"{commit.stdout.strip()} (installed .venv shared); bare cnn loop {before:,.0f} img/s before the run and "
        f"{after:,.0f} after (bench/results/trainer.md's quiet figure: 2,259)"
    )
    text = emit(setting, ["stage (rule)", "jobs", "wall s (summed)", "CPU s (summed)", "longest job s"], table, None)
    text += (
        f"\n**Wall time of the run: {wall:.0f} s ({wall / 60:.1f} min)**, {jobs} benchmarked jobs on {args.cores} "
        "cores. A stage's summed wall seconds exceed its CPU seconds where its jobs wait for a core or for I/O; the "
        "run's wall includes Snakemake's own planning and the jobs without a benchmark (indexing, figures). "
        f"Results: {work}\n"
    )
    if args.out:
        args.out.write_text(text)
        write_costs(stages, setting)
    print(text[text.index("**Wall") :])


if __name__ == "__main__":
    main()
