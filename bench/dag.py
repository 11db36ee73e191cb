"""Planning cost at paper scale: wall time of a dry run (`snakemake -n`) of a config, its job count,
and the share of that time spent in the workflow's own input/params functions.

    .venv/bin/python bench/dag.py --config config/cifar10.yaml --repeats 3 --out bench/results/dag.md
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dry_run(config: Path, workdir: Path) -> tuple[float, int]:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--cores",
        "1",
        "-n",
        "--quiet",
        "rules",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    total = next(int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("total"))
    return wall, total


def profile(config: Path, workdir: Path, top: int) -> str:
    """cProfile of one dry run in this process: the functions with the most cumulative time."""
    from snakemake.cli import main

    profiler = cProfile.Profile()
    args = [
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--cores",
        "1",
        "-n",
        "--quiet",
        "rules",
    ]
    profiler.enable()
    with contextlib.suppress(SystemExit):
        main(args)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def cpu_name() -> str:
    try:
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "cifar10.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, help="also print the top N functions of a profiled dry run")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [dry_run(args.config, Path(tmp)) for _ in range(args.repeats)]
        report = profile(args.config, Path(tmp), args.profile) if args.profile else ""
    walls = sorted(w for w, _ in runs)
    lines = [
        f"# Dry run of `{args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config}`",
        "",
        f"Machine: {cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores available; Python "
        f"{platform.python_version()}.",
        "",
        "| jobs | runs | fastest (s) | median (s) | slowest (s) |",
        "| --- | --- | --- | --- | --- |",
        f"| {runs[0][1]} | {len(runs)} | {walls[0]:.1f} | {walls[len(walls) // 2]:.1f} | {walls[-1]:.1f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if report:
        print(report)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
