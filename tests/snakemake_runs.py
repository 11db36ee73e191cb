"""Running the workflow from tests: locally (`--cores 2`) or through the SLURM profile."""

import os
import shutil
import subprocess
import sys
import threading
import time
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
    proc = run_watched(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


# A run is hung, not slow, when it prints nothing for this long: Snakemake prints a line as each job starts
# and ends, and the longest single job of the test configs takes well under a minute on this machine class.
# A slow day (a host at 0.7x with other work beside it) stretches a run, never its silences to this length.
IDLE_LIMIT_S = 1200


def run_watched(cmd, idle_limit=IDLE_LIMIT_S, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True)`` that fails a run only when it stops making
    progress (no output for ``idle_limit`` seconds), not when it is merely slow: the tests' guard against
    a hang, never a speed test."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    chunks = {"stdout": [], "stderr": []}
    last = [time.monotonic()]

    def drain(name, stream):
        for line in stream:
            chunks[name].append(line)
            last[0] = time.monotonic()

    readers = [threading.Thread(target=drain, args=(n, getattr(proc, n)), daemon=True) for n in chunks]
    for reader in readers:
        reader.start()
    while proc.poll() is None:
        if time.monotonic() - last[0] > idle_limit:
            proc.kill()
            proc.wait()
            tail = "".join(chunks["stderr"])[-4000:]
            raise AssertionError(f"{' '.join(map(str, cmd))} printed nothing for {idle_limit} s: hung\n{tail}")
        time.sleep(0.5)
    for reader in readers:
        reader.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(chunks["stdout"]), "".join(chunks["stderr"]))


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
    proc = run_watched(slurm_command(workdir, config, *args), cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
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
