"""Running the workflow from tests: locally (`--cores 2`) or through the SLURM profile."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
GENERATORS = list(yaml.safe_load(TINY.read_text())["generators"])


def snakemake(workdir, *args, config=TINY, check=True, env=None):
    """The local executor, as `make demo` runs it."""
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
        "2",
        *args,
    ]
    # a guard against a hung run, not a speed test: a slow host with other work beside it took the tiny
    # run past 900 s, so the limit is far above any healthy run (CI's own limit is 90 minutes)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=3600, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def slurm_problem():
    """Why no SLURM job can run here, or None when a node accepts jobs."""
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        return "SLURM is not installed; run tests/cluster/start_slurm.sh as root (.ci/run does)"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"sinfo failed: {err}"
    if proc.returncode != 0 or not set(proc.stdout.split()) & {"idle", "mix", "alloc"}:
        return (
            f"no SLURM node accepts jobs (sinfo: {proc.stdout.strip() or proc.stderr.strip()}); run "
            "tests/cluster/start_slurm.sh"
        )
    return None


def slurm_command(workdir, config, *args):
    """`snakemake --profile slurm` as the README documents it (run from the repository root), with
    this cluster's overrides: no accounting database, no GPUs (``--config gpus=0``)."""
    # targets and flags first: the multi-valued options below would swallow them
    return [
        sys.executable,
        "-m",
        "snakemake",
        *args,
        "--profile",
        "slurm",
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--slurm-no-account",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--config",
        "gpus=0",
        # a group asks for the sum of its members' threads: two predictions fit this 2-CPU node
        "--group-components",
        "predict=2",
        "index=2",
    ]


def run_slurm(workdir, *args, config=TINY, check=True):
    proc = subprocess.run(
        slurm_command(workdir, config, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=2400,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake --profile slurm failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def dry_run_jobs_for_output(out):
    """Rule name -> job count from the job-stats table of a dry run's output."""
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job") and not parts[0].endswith(":"):
            jobs[parts[0]] = int(parts[1])
    return jobs
