"""Jobs forked from the run's warm process (synthval.forkserver): a job runs there as it would in its own
process (argv, directory, environment, streams, exit status, tracebacks), dies with the process Snakemake
started, records what it used, and runs by itself wherever no server can take it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from snakemake_runs import IDLE_LIMIT_S

from synthval import forkserver
from synthval.runtime import stage_times

SRC = Path(__file__).resolve().parents[1] / "src"

JOB = """
import json, os, sys
class Job:
    log = [sys.argv[1]]
snakemake = Job()
from synthval.forkserver import forked
if not forked(snakemake):
    import torch
    print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "argv": sys.argv, "cwd": os.getcwd(),
                      "marker": os.environ.get("MARKER"), "torch": torch.__version__}))
    print("to stderr", file=sys.stderr)
    if os.environ.get("FAIL"):
        raise RuntimeError("the job's own error")
    if os.environ.get("SLEEP"):
        import time
        helper = __import__("subprocess").Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open(os.environ["SLEEP"], "w").write(f"{os.getpid()} {helper.pid}")
        time.sleep(60)
    sys.exit(int(os.environ.get("CODE", "0")))
"""


@pytest.fixture(scope="module")
def server_process(tmp_path_factory):
    """A server as a run with every generator family starts it (their libraries preloaded), as start() does:
    its address and process."""
    from synthval.families import FAMILIES

    folder = tmp_path_factory.mktemp("server")
    address = str(folder / "socket")
    env = {**os.environ, "PYTHONPATH": str(SRC), **dict.fromkeys(forkserver.POOLS.values(), "1")}
    libraries = list(dict.fromkeys(entry for family in FAMILIES.values() for entry in family.libraries))
    cmd = [sys.executable, "-m", "synthval.forkserver", address, str(os.getpid()), *libraries]
    proc = subprocess.Popen(cmd, env=env)
    while not Path(address).exists():  # it listens at once, and answers once it has imported what it preloads
        assert proc.poll() is None, "the server exited"
        time.sleep(0.05)
    assert _refused_as_a_fork(address) == {"refused": "a forked job"}
    yield address, proc
    forkserver.stop(address)
    assert proc.wait() == 0
    assert not folder.exists() or not any(folder.iterdir())  # it leaves no socket behind


@pytest.fixture
def server(server_process):
    return server_process[0]


def test_what_the_server_preloads_starts_no_thread(server_process):
    """A fork copies only the forking thread: a library thread started by an import (a pool, an allocator's
    background thread) would be missing in every job, holding whatever lock it held."""
    assert os.listdir(f"/proc/{server_process[1].pid}/task") == [str(server_process[1].pid)]


def job(tmp_path, address, **env):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    variables = {**os.environ, "PYTHONPATH": str(SRC), forkserver.VARIABLE: address, **env}
    variables.pop(forkserver.CHILD_VARIABLE, None)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "job.log")],
        cwd=tmp_path,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_job_runs_in_a_child_of_the_server_as_in_its_own_process(server, tmp_path):
    proc = job(tmp_path, server, MARKER="mine")
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    seen = json.loads(out)
    assert seen["pid"] != proc.pid  # a fork of the warm process, not the script's own
    assert seen["ppid"] != proc.pid
    assert seen["argv"] == [str(tmp_path / "job.py"), str(tmp_path / "job.log")]
    assert seen["cwd"] == str(tmp_path)
    assert seen["marker"] == "mine"  # the job's environment, not the server's
    assert err.strip() == "to stderr"
    usage = json.loads((tmp_path / "job.usage.json").read_text())
    assert set(usage) == {"s", "cpu_time", "max_rss"}
    assert usage["max_rss"] > 10  # MB: torch is in its memory

    proc = job(tmp_path, server, CODE="3")
    proc.communicate()
    assert proc.returncode == 3
    proc = job(tmp_path, server, FAIL="1")
    _, err = proc.communicate()
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: the job's own error" in err


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_the_job_and_its_processes_end_with_the_process_snakemake_started(server, tmp_path, signum):
    pids = tmp_path / "pids"
    proc = job(tmp_path, server, SLEEP=str(pids))
    while not pids.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.1)
    child, helper = map(int, pids.read_text().split())
    proc.send_signal(signum)
    proc.communicate()
    assert proc.returncode != 0

    def running(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"  # a zombie has ended; its parent reaps it

    # they end within moments of the signal; the limit only keeps a process that never ends from hanging
    # the session (the suite's hang guard, tests/snakemake_runs.IDLE_LIMIT_S), never times the machine
    deadline = time.monotonic() + IDLE_LIMIT_S
    while (running(child) or running(helper)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)
    assert not running(helper)


def test_without_a_server_the_script_runs_the_job_itself(server, tmp_path):
    for address in ("", "0", str(tmp_path / "nobody-listens")):
        proc = job(tmp_path, address)
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert json.loads(out)["pid"] == proc.pid
        assert not (tmp_path / "job.usage.json").exists()
    proc = job(tmp_path, server, PYTHONPATH=f"{SRC}{os.pathsep}{tmp_path}")  # code the server did not import
    out, _ = proc.communicate()
    assert json.loads(out)["pid"] == proc.pid
    proc = job(tmp_path, server, SLURM_JOB_ID="1")  # a job step on a cluster node runs where it was placed
    out, _ = proc.communicate()
    assert json.loads(out)["pid"] == proc.pid


def _refused_as_a_fork(address):
    """The server's answer to a request from a forked job (which it refuses), once it has done its imports."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(address)
    with connection:
        env = {**os.environ, "PYTHONPATH": str(SRC), forkserver.CHILD_VARIABLE: "1"}
        request = {"argv": [__file__], "cwd": "/", "env": env, "path": [], "executable": sys.executable}
        body = json.dumps(request).encode()
        socket.send_fds(connection, [forkserver._HEADER.pack(len(body)) + body], [0, 1, 2])
        return json.loads(connection.makefile("rb").readline())


def test_a_forked_job_never_asks_for_another_fork(server):
    assert _refused_as_a_fork(server) == {"refused": "a forked job"}


def test_a_job_that_starts_while_the_server_imports_waits_for_it(tmp_path):
    """A run's first jobs, and every job of a short rerun, start before the server has imported torch: they
    queue on its socket and are forked once it has, rather than importing everything a second time."""
    (tmp_path / "slow_library.py").write_text("import time\ntime.sleep(3)\n")
    path = f"{SRC}{os.pathsep}{tmp_path}"
    address = str(tmp_path / "socket")
    cmd = [sys.executable, "-m", "synthval.forkserver", address, str(os.getpid()), "slow_library"]
    server = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": path})
    try:
        while not Path(address).exists():
            assert server.poll() is None, "the server exited"
            time.sleep(0.01)
        started = time.monotonic()
        proc = job(tmp_path, address, PYTHONPATH=path)
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert json.loads(out)["pid"] != proc.pid  # forked by the server, not run in the script's own process
        assert time.monotonic() - started >= 2.5  # it was held until the slow import was done (a lower bound)
    finally:
        forkserver.stop(address)
        server.wait()


def test_stage_times_adds_what_forked_jobs_recorded(tmp_path):
    bench = tmp_path / "results" / "benchmarks" / "predict" / "train1000"
    bench.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (bench / "cnn.v1.tsv").write_text(header + "10.0\t0:00:10\t50.0\t1\t1\t1\t0\t0\t0\t0.5\n")
    (bench / "resnet8.tsv").write_text(header + "4.0\t0:00:04\t300.0\t1\t1\t1\t0\t0\t0\t3.5\n")
    log = tmp_path / "results" / "logs" / "predict" / "train1000" / "cnn.v1.log"
    log.parent.mkdir(parents=True)
    forkserver.usage_path(log).write_text(json.dumps({"s": 9.9, "cpu_time": 8.0, "max_rss": 400.0}))
    (row,) = stage_times(tmp_path / "results" / "benchmarks").iter_rows(named=True)
    assert row["jobs"] == 2
    assert row["CPU s (sum)"] == pytest.approx(0.5 + 8.0 + 3.5)
    assert row["peak RSS (MB)"] == 400.0
    assert forkserver.usage_path(log).name == "cnn.v1.usage.json"


def test_every_familys_libraries_preload_with_the_names_its_jobs_take():
    """A family's ``libraries`` entry that names a missing module or attribute would be skipped by the warm
    process in silence, and every job of the family would import it again (~6 CPU-s a DDPM job)."""
    from synthval.families import FAMILIES

    entries = [entry for family in FAMILIES.values() for entry in family.libraries]
    assert any(":" in entry for entry in entries)
    for entry in entries:
        forkserver._preload(entry)
    with pytest.raises(AttributeError):
        forkserver._preload("diffusers:NoSuchModel")
    # every sampler a generator may be configured with is among them (the lists live in the families' modules)
    from synthval.generators.ddpm import SAMPLERS
    from synthval.generators.stable_diffusion import SCHEDULERS

    def diffusers_names(family):
        return {n for e in FAMILIES[family].libraries if e.startswith("diffusers:") for n in e[10:].split(",")}

    assert set(SAMPLERS.values()) <= diffusers_names("ddpm")
    assert set(SCHEDULERS.values()) <= diffusers_names("stable_diffusion")
    # they are preloaded where the run builds a generator: the scripts that do so are named correctly
    from synthval.plan.workflow import GENERATOR_SCRIPTS

    assert all((SRC.parent / "workflow" / "scripts" / script).is_file() for script in GENERATOR_SCRIPTS)


def test_a_run_of_few_jobs_starts_no_server(monkeypatch):
    """A rerun of a target or two costs less without a server than the server's imports (MIN_JOBS); the
    faults tests see both cases in real runs (tests/test_faults.py)."""
    monkeypatch.delenv(forkserver.VARIABLE, raising=False)
    assert forkserver.start(jobs=forkserver.MIN_JOBS - 1) is None
    assert forkserver.VARIABLE not in os.environ
    assert forkserver.scripts_to_run(object()) is None  # a Snakemake whose workflow shows no DAG: unknown
