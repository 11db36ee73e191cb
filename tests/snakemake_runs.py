"""Running the workflow from tests: locally (`--cores 2`) or through the SLURM profile."""

import os
import re
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
        # a group asks for the sum of its members' threads: two predictions fit this 2-CPU node (this option
        # replaces the profile's group-components: the others are the profile's)
        "--group-components",
        "predict=2",
        "index=2",
        "selection=2",
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


def _running_job(rule, workflow):
    """The id of a running SLURM job of ``rule`` that ``workflow`` (a Watched run) submitted, once one runs;
    the workflow ending first fails the test. Its own jobs are the ids its output names as submitted."""
    while True:
        output = "".join(workflow.chunks["stdout"] + workflow.chunks["stderr"])
        if workflow.proc.poll() is not None:
            raise AssertionError(f"the workflow ended before a {rule} job ran:\n{output[-3000:]}")
        ours = set(re.findall(r"has been submitted with SLURM jobid (\d+)", output))
        listing = subprocess.run(["squeue", "-h", "-o", "%i %T %k"], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            job, state, comment = ([*line.split(maxsplit=2), "", ""])[:3]
            if state == "RUNNING" and rule in comment and job in ours:
                return job
        time.sleep(0.2)


def cancelled_job_scenario(workdir):
    """A zoo training job long enough (tens of seconds here) to be cancelled while it trains, through the
    SLURM profile: cancelled after its first epoch is saved, then rerun to completion, beside an
    uninterrupted local run of the same target (tests/test_cluster.py checks what this returns)."""
    config = yaml.safe_load(CLUSTER.read_text())
    config["zoo"]["epochs"] = 300
    config["zoo"]["save_epochs"] = [300]
    path = workdir / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    from synthval.plan.paths import RESULTS, classifier_weights

    target = classifier_weights("train300", "mlp-base-s0", "300")
    run = workdir / "run"
    state = run / RESULTS / "resume" / "classifiers" / "train300" / "mlp-base" / "train" / "state.safetensors"
    run.mkdir(parents=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workflow = Watched(slurm_command(run, path, target, "--retries", "0"), cwd=ROOT, env=env)
    try:
        job = _running_job("train_classifier", workflow)
        while not state.exists() and workflow.proc.poll() is None:  # cancel it mid-training, after an epoch
            time.sleep(0.05)
        subprocess.run(["scancel", job], check=True)
        cancelled = workflow.result()  # the job cancelled, the run ends
    finally:
        workflow.kill()
    left = (run / target).exists()
    rerun = run_slurm(run, target, config=path)
    snakemake(workdir / "local", target, config=path)
    return {"cancelled": cancelled, "left": left, "rerun": rerun, "target": target, "path": path}


def two_ranks_scenario(workdir):
    """The reference classifier as one job over two ranks through the SLURM profile: the job asks for one task
    with 2 cores (and gpus x 2 GPUs on a GPU cluster) and starts its two ranks itself (a gloo job here)."""
    config = yaml.safe_load(CLUSTER.read_text()) | {"ranks": {"train_reference": 2}}
    (workdir / "two-ranks.yaml").write_text(yaml.safe_dump(config))
    from synthval.plan.paths import reference_weights

    target = reference_weights("train300")
    return run_slurm(workdir, target, config=workdir / "two-ranks.yaml"), target


class _Background:
    """Callables run one after another in a daemon thread; :meth:`result` waits for one and returns what it
    returned, or raises what it raised. With ``publish`` (a folder), each outcome is also pickled there as
    ``<name>.result``, for the other pytest-xdist workers of the session (:class:`_Published`)."""

    def __init__(self, jobs, publish=None):
        self.done = {name: threading.Event() for name, _ in jobs}
        self.results = {}
        self.publish = publish
        self.thread = threading.Thread(target=self._run, args=(jobs,), daemon=True)
        self.thread.start()

    def _run(self, jobs):
        for name, job in jobs:
            try:
                self.results[name] = (True, job())
            except BaseException as err:  # noqa: BLE001 - handed to the test that waits for it
                self.results[name] = (False, err)
            if self.publish is not None:
                _publish(self.publish / f"{name}.result", self.results[name])
            self.done[name].set()

    def result(self, name):
        self.done[name].wait()
        ok, value = self.results[name]
        if not ok:
            raise value
        return value


def _publish(path, outcome):
    import pickle

    try:
        data = pickle.dumps(outcome)
    except Exception as err:  # noqa: BLE001 - an exception that does not pickle is still reported
        data = pickle.dumps((False, AssertionError(f"{outcome[1]!r} (could not be pickled: {err})")))
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)


class _Published:
    """A run another pytest-xdist worker of this session started (its pid in ``claim``): its outcome, once
    that worker pickles it beside the claim. A worker that died first fails the wait instead of hanging it."""

    def __init__(self, claim):
        self.claim = claim

    def result(self, name):
        import pickle

        path = self.claim.parent / f"{name}.result"
        while not path.exists():
            pid = int(self.claim.read_text() or 0)  # empty for the moment between the claim and its pid
            try:
                if pid:
                    os.kill(pid, 0)
            except ProcessLookupError:
                if not path.exists():
                    raise AssertionError(f"the worker (pid {pid}) that ran {name} ended without its result") from None
            time.sleep(1)
        ok, value = pickle.loads(path.read_bytes())
        if not ok:
            raise value
        return value


class SharedRuns:
    """The runs several tests read, started before the first test (tests/conftest.py) so that they run while
    the unit tests do: the local tiny run and the Stable Diffusion run side by side, and one after another
    the SLURM profile's runs (the cluster config, a cancelled job, a two-rank job: mostly waiting on the
    scheduler's status checks). A fixture that needs one waits for it; each runs once per session.

    Under pytest-xdist (``make test`` runs two workers) each chain of runs is claimed by the first worker to
    start (a file created exclusively in ``shared``, the session's folder all workers see), which runs it and
    publishes each outcome there; the other workers wait for the files. A worker waits for the runs it
    claimed before it ends (:meth:`finish`), so that no other worker waits for a run that was cut short."""

    LOCAL = ("tiny_run", "sd_run")
    SLURM = ("cluster_run", "cancelled_run", "two_rank_run")

    def __init__(self, shared=None):
        self.background = {}  # fixture -> _Background running it, or _Published for another worker's
        self.shared = shared  # the folder the session's xdist workers share, or None in a plain session

    def start_needed(self, fixtures, mktemp):
        """Start the runs whose fixtures are among ``fixtures``. Their folders are made here, in the session's
        thread: pytest's temporary folders are not made safely from two threads at once."""
        chains = []  # each run one after another in a thread of its own
        if "tiny_run" in fixtures and not os.environ.get("SYNTHVAL_TINY_RUN"):
            chains.append(["tiny_run"])
        if "sd_run" in fixtures:
            chains.append(["sd_run"])
        if (slurm := [name for name in self.SLURM if name in fixtures]) and slurm_problem() is None:
            chains.append(slurm)
        for chain in chains:
            if not self._claim(chain[0]):  # another xdist worker runs it
                self.background |= dict.fromkeys(chain, _Published(self.shared / f"{chain[0]}.claim"))
                continue
            jobs = [(name, self._job(name, mktemp(name.removesuffix("_run")))) for name in chain]
            self.background |= dict.fromkeys(chain, _Background(jobs, self.shared))

    def _job(self, name, folder):
        """What makes the run of fixture ``name`` in ``folder``."""
        return {
            "tiny_run": lambda: self._local(folder),
            "sd_run": lambda: self._local(folder, SD, write_sd_inputs),
            "cluster_run": lambda: self._cluster(folder),
            "cancelled_run": lambda: cancelled_job_scenario(folder),
            "two_rank_run": lambda: two_ranks_scenario(folder),
        }[name]

    def _claim(self, name):
        """Whether this process runs ``name`` (always, outside xdist): the first to create its claim file."""
        if self.shared is None:
            return True
        try:
            fd = os.open(self.shared / f"{name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    def finish(self):
        """Wait for the runs this process started (the session's end)."""
        for background in set(self.background.values()):
            if isinstance(background, _Background):
                background.thread.join()

    @staticmethod
    def _local(workdir, config=TINY, prepare=None):
        if prepare is not None:
            prepare(workdir)
        return workdir, snakemake(workdir, config=config)

    @staticmethod
    def _cluster(workdir):
        proc = run_slurm(workdir, config=CLUSTER)
        return workdir, proc.stdout + proc.stderr

    def wait(self, name):
        """What the run of fixture ``name`` returned, once it is done."""
        return self.background[name].result(name)
