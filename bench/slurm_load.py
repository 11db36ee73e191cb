"""The SLURM profile under load: a few hundred short jobs through `snakemake --profile slurm` on the
local one-node cluster (tests/cluster/start_slurm.sh). The cluster test config with its synthetic set
cut into many small shards gives hundreds of short jobs (a shard's synthesis and WebDataset conversion
travel as one grouped submission). Reported: jobs planned and finished, SLURM submissions, wall time,
how fast the controller answered `squeue` all along (is the scheduler still healthy?), and whether every
job is accounted for: every planned job finished, nothing left in the queue, every shard present and
matching its manifest, and a second `snakemake -n` finds nothing to do.

    .venv/bin/python bench/slurm_load.py --shards 128 --out bench/results/slurm_load.md
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from snakemake_runs import dry_run_jobs_for_output, slurm_command, slurm_problem

from synthval.data import read_image_set
from synthval.plan.paths import synthetic_manifest, webdataset_manifest


def poll_squeue(stop: threading.Event, latencies: list[float], queued: list[int]) -> None:
    """Time one `squeue` every second while the run goes on."""
    while not stop.is_set():
        start = time.perf_counter()
        proc = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
        latencies.append(time.perf_counter() - start)
        queued.append(len(proc.stdout.split()) if proc.returncode == 0 else -1)
        stop.wait(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=128)
    parser.add_argument("--per-class", type=int, default=26)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if problem := slurm_problem():
        sys.exit(problem)
    config = yaml.safe_load((ROOT / "tests" / "configs" / "cluster.yaml").read_text())
    config["synthesis"] = {"per_class": args.per_class, "shards": args.shards, "webdataset": True}
    with tempfile.TemporaryDirectory(prefix="slurm-load-") as tmp:
        work = Path(tmp)
        config_file = work / "load.yaml"
        config_file.write_text(yaml.safe_dump(config))
        plan = subprocess.run(
            slurm_command(work, config_file, "-n"), cwd=ROOT, capture_output=True, text=True, check=True
        )
        planned = dry_run_jobs_for_output(plan.stdout + plan.stderr)
        stop, latencies, queued = threading.Event(), [], []
        poller = threading.Thread(target=poll_squeue, args=(stop, latencies, queued), daemon=True)
        poller.start()
        start = time.perf_counter()
        run = subprocess.run(slurm_command(work, config_file), cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        stop.set()
        poller.join()
        out = run.stdout + run.stderr
        submitted = [line for line in out.splitlines() if "has been submitted with SLURM jobid" in line]
        kinds = Counter(m[1] if (m := re.search(r"slurm_logs/([^/\s]+)", line)) else "?" for line in submitted)
        finished = len(re.findall(r"^Finished jobid: \d+", out, re.M))
        errors = len(re.findall(r"^Error in rule", out, re.M))
        left = subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.split("\n")
        left = [line for line in left if line.strip()]
        shards = images = 0
        for manifest in (synthetic_manifest("train300", "wgan"), webdataset_manifest("train300", "wgan")):
            images += len(read_image_set(work / manifest))  # every shard's sha256 against its manifest
        shards = len(list((work / "results/synthetic/train300/wgan").glob("shard-*.parquet")))
        rerun = subprocess.run(slurm_command(work, config_file, "-n"), cwd=ROOT, capture_output=True, text=True)
        nothing_left = "Nothing to be done" in rerun.stdout + rerun.stderr
    total = sum(v for k, v in planned.items() if k != "total") or planned.get("total", 0)
    lines = [
        f"# The SLURM profile under load ({args.shards} shards)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, a one-node SLURM cluster "
        f"(tests/cluster/start_slurm.sh) with 2 CPUs; Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| planned jobs | finished | SLURM submissions | failed | wall (s) | jobs/s | left in queue |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {total} | {finished} | {len(submitted)} | {errors} | {wall:.0f} | {finished / wall:.2f} | {len(left)} |",
        "",
        "| `squeue` answered in (s) | median | 95th percentile | slowest | polls | most jobs queued |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| every second of the run | {statistics.median(latencies):.3f} | "
        f"{statistics.quantiles(latencies, n=20)[-1]:.3f} | {max(latencies):.3f} | {len(latencies)} | {max(queued)} |",
        "",
        f"Snakemake's exit status {run.returncode}; {shards} Parquet shards, {images} images read back through "
        f"both manifests (every shard's sha256 checked); a second dry run: "
        f"{'nothing to be done' if nothing_left else 'WORK LEFT'}.",
        "",
        "Jobs planned per rule: " + ", ".join(f"{k} {v}" for k, v in sorted(planned.items()) if k != "total") + ".",
    ]
    lines += ["", "Submissions per rule or group: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if run.returncode != 0:
        print(out[-5000:], file=sys.stderr)
    if args.out:
        args.out.write_text(text)
    sys.exit(0 if run.returncode == 0 and finished >= total and not left and nothing_left else 1)


if __name__ == "__main__":
    main()
