"""Local jobs forked from one warm process instead of each paying Python's and torch's start-up.

Every job of the workflow is a fresh interpreter that imports torch before its first line of work:
2-4 s of CPU a job on a laptop (bench/results/startup.md), a third or more of a small study's compute
(the embedded default runs 60 jobs, the tests' tiny config 127). When Snakemake runs jobs on this
machine, the workflow's ``onstart`` hook starts one server (:func:`start`) that imports the heavy
libraries once (:data:`PRELOAD`) and listens on a Unix socket in a fresh temporary folder. A job's
script first calls :func:`forked`: it connects, hands over its argv, working directory, environment,
``sys.path`` and standard streams (file descriptors passed over the socket), and the server forks a
child that becomes the job: it takes those over, runs the same script file from its first line, and
reports its exit status back. The script's process waits for it, forwards SIGINT/SIGTERM/SIGHUP to the
child's process group, and exits with the child's status; the child's process group is killed when
the script's process dies (Snakemake cancelling a job with SIGKILL), so nothing outlives the job.

What a job computes does not change: the child runs the script as a fresh process would, in its own
session, with the job's own environment, threads (``synthval.runtime.setup``) and seeds; the server
never runs a tensor operation, so no thread pool or GPU context is inherited. Polars is not preloaded:
its thread pool starts at import and would not survive a fork.

It is used only where it can be: jobs fall back to running in their own process when no server is
listening (a run of fewer than :data:`MIN_JOBS` jobs, the moment before the server binds its socket,
cluster executors, which never start one, a job step on a SLURM node), when the server runs another
interpreter or ``PYTHONPATH``, or with ``SYNTHVAL_FORKSERVER=0`` in the environment. Snakemake's
benchmark files measure the script's own process tree, which no longer holds the work: the child writes
its CPU seconds and peak memory beside the job's log (:func:`usage_path`), and
:func:`synthval.runtime.stage_times` adds them.

Torch-free at import, and not part of any job's code digest (synthval.provenance): it decides how a
job is started, not what the job makes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import runpy
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

VARIABLE = "SYNTHVAL_FORKSERVER"  # the server's socket, in the environment Snakemake's local jobs inherit
CHILD_VARIABLE = "SYNTHVAL_FORKED"  # set in a forked job's environment: it never asks for another fork
#: What the server imports before it listens: what most jobs import first and pays most of their start-up.
#: torch._dynamo is imported by an optimizer's first step (2 CPU-s of every training job), scipy.stats by
#: the selection, ranking, LiRA and summary jobs (1.5 CPU-s each); a run adds its generator families'
#: libraries (:func:`start`'s ``preload``). Nothing that starts a thread as it is imported (counted in
#: /proc/self/task): polars, pyarrow's datasets (jemalloc's background thread) and scikit-learn do.
PRELOAD = (
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.utils.data",
    "torch._dynamo",
    "scipy.stats",
    "safetensors.torch",
    "PIL.Image",
)
_HEADER = struct.Struct("!Q")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The thread pools a fresh interpreter sizes from the environment as it loads them (Snakemake puts the job's
#: threads in these), by threadpoolctl's name for them.
POOLS = {"blas": "OPENBLAS_NUM_THREADS", "openmp": "OMP_NUM_THREADS"}
_IN_CHILD = False  # set in a forked child: its script's own forked() call runs the job in place
_USAGE: Path | None = None  # where the child records what it used (usage_path of the job's log)


def usage_path(log: str | Path) -> Path:
    """Where a forked job records its CPU seconds and peak memory: beside its log, ``<log>.usage.json``
    (``results/logs/predict/train1000/cnn.log`` -> ``results/logs/predict/train1000/cnn.usage.json``)."""
    log = str(log)
    return Path((log[: -len(".log")] if log.endswith(".log") else log) + ".usage.json")


def forked(snakemake: Any) -> bool:
    """Run this job in a child of the warm server, if one is listening: True once it has succeeded
    there (the script then has nothing left to do); SystemExit with the child's status if it failed;
    False where the script must run the job itself (no server, or this is the forked child)."""
    global _USAGE
    logs = list(getattr(snakemake, "log", []) or [])
    usage = usage_path(logs[0]) if logs else None
    if _IN_CHILD:
        _USAGE = usage
        return False
    if usage is not None:
        usage.unlink(missing_ok=True)  # a record of an earlier forked run of this job
    connection = _connect()
    if connection is None:
        return False
    with connection:
        status = _delegate(connection)
    if status is None:
        return False
    if status:
        raise SystemExit(status)
    return True


def _connect() -> socket.socket | None:
    address = os.environ.get(VARIABLE, "")
    if not address or address == "0" or "SLURM_JOB_ID" in os.environ or CHILD_VARIABLE in os.environ:
        return None
    if not os.path.isfile(sys.argv[0]):  # the child runs the script again from its file (not ``python -c``)
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)  # accepted once the server has imported what it preloads (serve)
    except OSError:  # not listening yet (the moment before it binds), or gone
        connection.close()
        return None
    return connection


def _delegate(connection: socket.socket) -> int | None:
    """Hand the job to the server; None if it declines before forking, else the child's exit status."""
    request = {
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "path": sys.path,
        "executable": sys.executable,
    }
    body = json.dumps(request).encode()
    message = _HEADER.pack(len(body)) + body
    reader = connection.makefile("rb")
    try:
        sent = socket.send_fds(connection, [message], [0, 1, 2])
        connection.sendall(message[sent:])
        first = reader.readline()
    except OSError:  # the server went away before it forked: the job runs here
        return None
    if not first:
        return None
    reply = json.loads(first)
    if "refused" in reply:
        return None
    child = int(reply["pid"])

    def forward(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signum)

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    last = reader.readline()
    if not last:  # it died without a word (killed, or the machine ran out of memory)
        print(f"synthval: the job's forked process {child} ended without an exit status", file=sys.stderr)
        return 1
    return int(json.loads(last)["exit"])


# ---------------------------------------------------------------------------------------------- server


#: The fewest jobs for which a run starts a server. Its imports cost 5-9 CPU-s (torch, torch._dynamo,
#: scipy.stats, a family's diffusers classes); a job's own cost 0.2-2 s more than a fork
#: (bench/results/startup.md): a run of up to three jobs is cheaper without it (a one-job rerun of the tiny
#: config: 6.6 CPU-s without, 18-20 with).
MIN_JOBS = 4


def start(local: bool = True, preload: tuple[str, ...] | list[str] = (), jobs: int | None = None) -> str | None:
    """Start a server for this Snakemake run (the workflow's ``onstart`` hook) and put its address in
    the environment the run's jobs inherit. It exits with the run (:func:`stop`), or by itself within a
    second of its parent's end. None where it is switched off, where the run's jobs do not run here
    (``local`` false: a cluster executor, or a job step's own Snakemake), or where the run has fewer than
    :data:`MIN_JOBS` ``jobs`` (its scripted jobs, :func:`scripts_to_run`; None: unknown). ``preload``:
    modules to import beside :data:`PRELOAD`, those the run's jobs need (``Plan.warm_modules``: its
    generators' libraries), each ``module`` or ``module:Name,Name`` (:func:`_preload`)."""
    if not local or os.environ.get(VARIABLE) == "0" or (jobs is not None and jobs < MIN_JOBS):
        return None
    folder = tempfile.mkdtemp(prefix="synthval-fork-")
    address = str(Path(folder) / "socket")
    import subprocess

    subprocess.Popen(
        [sys.executable, "-m", "synthval.forkserver", address, str(os.getpid()), *preload],
        env={**os.environ, **dict.fromkeys(POOLS.values(), "1")},  # no idle pool threads in the forked process
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C reaches the run and its jobs, not the server
    )
    os.environ[VARIABLE] = address
    return address


def scripts_to_run(workflow: Any) -> list[str] | None:
    """The script file name of each job this Snakemake run will run (its DAG, as ``onstart`` sees it), or
    None where this Snakemake's DAG does not say."""
    try:
        jobs = list(workflow.dag.needrun_jobs())
    except AttributeError:
        return None
    return [Path(job.rule.script).name for job in jobs if getattr(job.rule, "script", None)]


def stop(address: str | None = None) -> None:
    """End this run's server (the workflow's ``onsuccess``/``onerror`` hooks), or the one at ``address``;
    running jobs are not touched."""
    address = address or os.environ.pop(VARIABLE, "")
    if not address or address == "0":
        return
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError), connection:
        connection.connect(address)
        body = b'{"stop": true}'
        connection.sendall(_HEADER.pack(len(body)) + body)


def _preload(entry: str) -> None:
    """Import ``module``, or for ``module:Name,Name`` also resolve those names: a library that loads its
    submodules on first attribute access (diffusers, transformers) has loaded almost nothing at import."""
    module, _, names = entry.partition(":")
    loaded = importlib.import_module(module)
    for name in filter(None, names.split(",")):
        getattr(loaded, name)


def serve(address: str, parent: int, preload: tuple[str, ...] | list[str] = ()) -> None:
    """Import :data:`PRELOAD` and ``preload``, then fork a child for every job that connects, until ``stop``
    or the parent process (the Snakemake run) is gone.

    It listens before it imports: a job that starts meanwhile (a run's first jobs, every job of a short
    rerun) connects, and the kernel holds its request until the imports are done, so it waits for them
    instead of paying them a second time in its own process (the same seconds of wall, half the CPU)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(256)
    try:
        for entry in dict.fromkeys((*PRELOAD, *preload)):
            with contextlib.suppress(ImportError, AttributeError):
                _preload(entry)
        while os.getppid() == parent:
            _reap()
            ready, _, _ = select.select([listener], [], [], 1.0)
            if ready and not _accept(listener):
                break
    finally:
        listener.close()
        Path(address).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder start() made for it, once empty
            os.rmdir(Path(address).parent)


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request (a length header, then JSON) and the file descriptors sent with its first bytes."""
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    data = _fill(connection, data, _HEADER.size)
    (size,) = _HEADER.unpack_from(data)
    data = _fill(connection, data, _HEADER.size + size)
    return json.loads(data[_HEADER.size : _HEADER.size + size]), fds


def _fill(connection: socket.socket, data: bytes, size: int) -> bytes:
    while len(data) < size:
        more = connection.recv(1 << 16)
        if not more:
            raise ConnectionError("the job hung up")
        data += more
    return data


def _send_line(connection: socket.socket, message: dict[str, Any]) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def _accept(listener: socket.socket) -> bool:
    """Serve one connection; False when it asks the server to stop."""
    connection, _ = listener.accept()
    fds: list[int] = []
    try:
        request, fds = _receive(connection)
        if request.get("stop"):
            return False
        refused = _refusal(request, fds)
        if refused:
            _send_line(connection, {"refused": refused})
            return True
        if os.fork() == 0:  # the child never returns from here
            listener.close()
            _become_job(connection, request, fds)
    except (OSError, ValueError, ConnectionError):
        pass  # that job runs in its own process instead
    finally:
        connection.close()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    return True


def _refusal(request: dict[str, Any], fds: list[int]) -> str | None:
    """Why this server must not run the job: another interpreter or library path than it imported."""
    if CHILD_VARIABLE in request["env"]:
        return "a forked job"
    if len(fds) != 3:
        return "no standard streams"
    if request["executable"] != sys.executable:
        return f"another interpreter ({request['executable']})"
    if request["env"].get("PYTHONPATH", "") != os.environ.get("PYTHONPATH", ""):
        return "another PYTHONPATH"
    return None


def _become_job(connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: take the job's streams, directory, environment and argv, run its script
    from the first line, report the status and exit (never returns)."""
    global _IN_CHILD
    code = 1
    try:
        os.setsid()  # its own process group: the job's processes (ranks, loader workers) end with it
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a fresh interpreter's: KeyboardInterrupt
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[CHILD_VARIABLE] = "1"
        _match_thread_pools()
        sys.argv = list(request["argv"])
        sys.path[:] = request["path"]
        _IN_CHILD = True
        _send_line(connection, {"pid": os.getpid()})
        threading.Thread(target=_die_with_the_job, args=(connection,), daemon=True).start()
        code = _run_script(sys.argv[0])
    finally:
        _finish(connection, code)


def _match_thread_pools() -> None:
    """Size the BLAS and OpenMP pools the server loaded as the job's environment would have sized them in
    a fresh interpreter: a pool of another size sums in another order (the last digit of a similarity)."""
    limits = {api: int(os.environ[name]) for api, name in POOLS.items() if os.environ.get(name, "").isdigit()}
    if limits:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=limits)


def _die_with_the_job(connection: socket.socket) -> None:
    """The job's own process (the script Snakemake started) sends nothing more: an end of stream means
    it died, and so does this process group."""
    with contextlib.suppress(OSError):
        while connection.recv(1024):
            pass
    os.killpg(0, signal.SIGKILL)


def _run_script(script: str) -> int:
    started = time.perf_counter()
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as done:
        code = _exit_status(done.code)
    except BaseException:  # noqa: BLE001 - reported as an uncaught exception would be, then exit 1
        sys.excepthook(*sys.exc_info())
        code = 1
    _record_usage(time.perf_counter() - started)
    return code


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _record_usage(seconds: float) -> None:
    if _USAGE is None:
        return
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "s": round(seconds, 4),
        "cpu_time": round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 4),
        "max_rss": round(max(own.ru_maxrss, children.ru_maxrss) / 1024, 2),  # MB, as Snakemake's benchmarks
    }
    with contextlib.suppress(OSError):
        _USAGE.parent.mkdir(parents=True, exist_ok=True)
        partial = _USAGE.with_name(_USAGE.name + ".partial")
        partial.write_text(json.dumps(record) + "\n")
        partial.replace(_USAGE)


def _finish(connection: socket.socket, code: int) -> None:
    import atexit

    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()  # what the interpreter's exit would run: logging's flush, finalizers
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    with contextlib.suppress(OSError):
        _send_line(connection, {"exit": code})
    os._exit(code)


if __name__ == "__main__":  # the importable module's globals, which the jobs' scripts see, not __main__'s
    from synthval.forkserver import serve as _serve

    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
