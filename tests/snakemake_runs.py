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


def snakemake_command(workdir, *args, config=TINY):
    """The local executor, as `make demo` runs it."""
    return [
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


def snakemake(workdir, *args, config=TINY, check=True, env=None):
    """Run the local executor to the end (:func:`snakemake_command`)."""
    cmd = snakemake_command(workdir, *args, config=config)
    return checked(run_watched(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}), check)


def checked(proc, check=True):
    """``proc``, failing the test with its output's tail where ``check`` and it failed."""
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, proc.args))} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


# A run is hung, not slow, when it prints nothing for this long: Snakemake prints a line as each job starts
# and ends, and the longest single job of the test configs takes well under a minute on this machine class.
# A slow day (a host at 0.7x with other work beside it) stretches a run, never its silences to this length.
IDLE_LIMIT_S = 1200


class Watched:
    """A subprocess whose output is read as it comes (so it never blocks on a full pipe), to be waited for
    with :meth:`result`; started in the background, it runs while the session does other work."""

    def __init__(self, cmd, **kwargs):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
        self.chunks = {"stdout": [], "stderr": []}
        self.last = time.monotonic()
        self.readers = [
            threading.Thread(target=self._drain, args=(name, getattr(self.proc, name)), daemon=True)
            for name in self.chunks
        ]
        for reader in self.readers:
            reader.start()

    def _drain(self, name, stream):
        for line in stream:
            self.chunks[name].append(line)
            self.last = time.monotonic()

    def result(self, idle_limit=None):
        """The finished process as ``subprocess.run`` returns it; a run that prints nothing for
        ``idle_limit`` seconds (default :data:`IDLE_LIMIT_S`) is hung: killed, and the test fails."""
        idle_limit = IDLE_LIMIT_S if idle_limit is None else idle_limit
        while self.proc.poll() is None:
            if time.monotonic() - self.last > idle_limit:
                self.kill()
                tail = "".join(self.chunks["stderr"])[-4000:]
                raise AssertionError(f"{' '.join(map(str, self.cmd))} printed nothing for {idle_limit} s: hung\n{tail}")
            time.sleep(0.5)
        for reader in self.readers:
            reader.join()
        out, err = "".join(self.chunks["stdout"]), "".join(self.chunks["stderr"])
        return subprocess.CompletedProcess(self.cmd, self.proc.returncode, out, err)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_watched(cmd, idle_limit=IDLE_LIMIT_S, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True)`` that fails a run only when it stops making
    progress (no output for ``idle_limit`` seconds), not when it is merely slow: the tests' guard against
    a hang, never a speed test."""
    return Watched(cmd, **kwargs).result(idle_limit)


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
    return checked(proc, check)


def dry_run_jobs_for_output(out):
    """Rule name -> job count from the job-stats table of a dry run's output."""
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job") and not parts[0].endswith(":"):
            jobs[parts[0]] = int(parts[1])
    return jobs


SD = ROOT / "tests" / "configs" / "sd.yaml"
CLUSTER = ROOT / "tests" / "configs" / "cluster.yaml"


def write_sd_inputs(workdir):
    """What tests/configs/sd.yaml reads besides the data: a tiny randomly initialised Stable Diffusion
    pipeline, a caption for every image of the source (by its key, as a captioning model's output would be),
    samples "made elsewhere" (16x16 RGB, 5 per class) and a classifier trained elsewhere."""
    import json

    import numpy as np
    from safetensors.torch import save_file

    from synthval.classifiers import create_classifier
    from synthval.generators.stable_diffusion import save_tiny_pipeline

    workdir.mkdir(parents=True, exist_ok=True)
    save_tiny_pipeline(workdir / "sd-pipeline")
    (workdir / "captions.json").write_text(json.dumps({f"digits-{i:07d}": f"digit {i % 7}" for i in range(1797)}))
    rng = np.random.default_rng(0)
    np.savez(
        workdir / "imported.npz", images=rng.integers(0, 256, (50, 16, 16, 3), np.uint8), labels=np.arange(50) % 10
    )
    save_file(create_classifier("mlp", 10, 1, 8, seed=0).body.state_dict(), workdir / "pretrained-mlp.safetensors")


class SharedRuns:
    """The runs several tests read, started together before the first test (tests/conftest.py) so that
    they run while the unit tests do: the local tiny run, the same config's cut through the SLURM profile
    (mostly waiting on the scheduler's status checks) and the Stable Diffusion run. A fixture that needs
    one waits for it; each is run once per session."""

    def __init__(self):
        self.started = {}  # name -> (workdir, Watched, check)

    def start(self, name, workdir, cmd, **kwargs):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.started[name] = (workdir, Watched(cmd, env=env, **kwargs))

    def start_needed(self, fixtures, mktemp):
        """Start the runs whose fixtures (``tiny_run``, ``cluster_run``, ``sd_run``) are among ``fixtures``."""
        if "tiny_run" in fixtures and not os.environ.get("SYNTHVAL_TINY_RUN"):
            workdir = mktemp("tiny")
            self.start("tiny", workdir, snakemake_command(workdir))
        if "cluster_run" in fixtures and slurm_problem() is None:
            workdir = mktemp("cluster")
            self.start("cluster", workdir, slurm_command(workdir, CLUSTER), cwd=ROOT)
        if "sd_run" in fixtures:
            workdir = mktemp("sd")
            write_sd_inputs(workdir)
            self.start("sd", workdir, snakemake_command(workdir, config=SD))

    def wait(self, name):
        """The finished run's folder and process (started now if no fixture asked for it beforehand)."""
        workdir, watched = self.started[name]
        return workdir, checked(watched.result())

    def stop(self):
        for _, watched in self.started.values():
            watched.kill()
