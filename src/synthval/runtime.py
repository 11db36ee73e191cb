"""Process set-up shared by every job: threads, device, determinism, logging; and what the jobs of a run
cost (:func:`stage_times`, from Snakemake's benchmark files)."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import polars as pl
    import torch

#: Thread pools of the numerical libraries a job may load, pinned before any of them starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "POLARS_MAX_THREADS")


def setup(
    threads: int,
    seed: int | None = None,
    log_file: str | None = None,
    accelerator: dict[str, Any] | None = None,
    rank: int | None = None,
) -> logging.Logger:
    """Pin the job to ``threads`` (a job uses what its rule declares), make torch's CPU maths
    deterministic, and send log lines to ``log_file`` and stderr. ``accelerator`` (the config's
    ``accelerator`` section) is how this job and the processes it starts use a GPU (:func:`accelerator`).
    A ``rank`` of a distributed job the job started appends to the job's log file, each line tagged.

    Torch is configured only when the job has imported it: the jobs that never touch a tensor
    (indexing, selection, figures, the report) start without paying for its import."""
    threads = max(1, int(threads))
    _fast_exit()
    if accelerator is not None:  # in the environment: a job's ranks and loader workers read it too
        os.environ[ACCELERATOR_VARIABLE] = json.dumps(asdict(Accelerator(**accelerator)))
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(threads))
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(threads)
        deterministic(torch)
        if seed is not None:
            torch.manual_seed(seed)
    if rank is not None:  # the job's own log, where its user looks (synthval.classifiers.distributed)
        log_file = os.environ.get(LOG_VARIABLE)
    elif log_file:
        os.environ[LOG_VARIABLE] = str(log_file)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        if rank is None:  # a fresh log; every process writes to its end (O_APPEND), the job's ranks too
            open(log_file, "w").close()
        handlers.append(logging.FileHandler(log_file, mode="a"))
    tag = "" if rank is None else f"rank {rank} "
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {tag}%(name)s: %(message)s", handlers=handlers, force=True
    )
    logger = logging.getLogger("synthval")
    sys.excepthook = _log_uncaught(logger)
    return logger


#: Marks the last line a failed job writes to its log: what failed, in one line (see :func:`failure_summary`).
FAILED = "FAILED"


def _log_uncaught(logger: logging.Logger):
    """An excepthook that writes an uncaught exception to the job's log file as well as stderr (where
    Snakemake points users: "check log file(s) for error details"): the traceback, then one line,
    ``FAILED <type>: <message>``, which names the file or setting involved."""

    def hook(kind: type[BaseException], error: BaseException, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, traceback)
            return
        logger.error("the job stopped on an error:", exc_info=(kind, error, traceback))
        logger.error("%s %s", FAILED, one_line(error))

    return hook


def one_line(error: BaseException) -> str:
    """``<type>: <message>`` of an exception, its message on one line."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def failure_summary(snakemake_log: str | Path | list, workdir: str | Path = ".") -> list[str]:
    """One line per failed job of a run, from the run's Snakemake log(s): the rule and wildcards, the
    last line the job wrote to its own log (its ``FAILED`` line, else its last line) and where the logs
    are (the job's own, then, under SLURM, the submission's). A grouped submission's error block
    (``message: Error in group ...``) nests its rules' blocks; its SLURM log is added to each of them."""
    logs = snakemake_log if isinstance(snakemake_log, list | tuple) else [snakemake_log]
    lines = [line for log in logs for line in Path(log).read_text(errors="replace").splitlines()]
    summaries: list[str] = []
    group: tuple[int, list[str]] | None = None  # the enclosing group block's indent and logs
    for start, line in enumerate(lines):
        text, indent = line.strip(), len(line) - len(line.lstrip())
        if group and indent <= group[0] and text:
            group = None
        if text.startswith("message: Error in group "):  # a grouped SLURM submission's block
            group = (indent - 1, _log_paths(_fields(lines, start - 1, indent - 1).get("log", "")))
            continue
        if not text.startswith("Error in rule "):
            continue
        rule = text.removeprefix("Error in rule ").rstrip(":")
        fields = _fields(lines, start, indent)
        paths = _log_paths(fields.get("log", ""))
        paths += [p for p in (group[1] if group else []) if p not in paths]
        what = next((w for w in (_last_words(Path(workdir) / p) for p in paths) if w), "no message in its log")
        where = f" ({fields['wildcards']})" if fields.get("wildcards") else ""
        summary = f"{rule}{where}: {what}" + (f" [log: {', '.join(paths)}]" if paths else "")
        if summary not in summaries:
            summaries.append(summary)
    return summaries


def _fields(lines: list[str], start: int, indent: int) -> dict[str, str]:
    """The ``name: value`` lines indented under the block that opens at ``lines[start]``."""
    fields: dict[str, str] = {}
    for detail in lines[start + 1 :]:
        if len(detail) - len(detail.lstrip()) <= indent or ":" not in detail:
            break
        name, _, value = detail.strip().partition(":")
        fields.setdefault(name, value.strip())
    return fields


def _log_paths(value: str) -> list[str]:
    return [p.strip() for p in value.split("(check log")[0].split(",") if p.strip()]


def _last_words(log: Path) -> str:
    """The ``FAILED`` line of a job's log (without its time stamp), else its last non-empty line."""
    try:
        text = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    for line in reversed(text):
        if f": {FAILED} " in line:
            return line.split(f": {FAILED} ", 1)[1]
    return text[-1].strip() if text else ""


def _fast_exit() -> None:
    """At exit, freeze the garbage collector's objects: the interpreter's teardown then skips traversing
    torch's (about 0.3-0.4 s of every job that imported it; logging's handlers, registered earlier, still
    flush and close after this runs)."""
    global _EXIT_REGISTERED
    if not _EXIT_REGISTERED:
        atexit.register(gc.freeze)
        _EXIT_REGISTERED = True


_EXIT_REGISTERED = False


def ranks() -> tuple[int, int]:
    """This process's rank and the number of ranks of the distributed job it is in ((0, 1) outside one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def device() -> torch.device:
    """This process's CUDA device (a rank's own, in a distributed job), or the CPU; ``SYNTHVAL_DEVICE=cpu``
    keeps a job on the CPU beside a GPU."""
    import torch

    if torch.cuda.is_available() and os.environ.get("SYNTHVAL_DEVICE") != "cpu":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


#: Where :func:`setup` leaves the job's log file for the ranks it starts to append to.
LOG_VARIABLE = "SYNTHVAL_LOG_FILE"

#: Where :func:`setup` leaves the job's accelerator settings (JSON) for :func:`accelerator` to read.
ACCELERATOR_VARIABLE = "SYNTHVAL_ACCELERATOR"


@dataclass(frozen=True)
class Accelerator:
    """How a job uses a GPU (the config's ``accelerator`` section; every setting is a no-op on the CPU
    unless asked for there). ``precision``: the autocast dtype of forward passes, ``auto`` being bf16 on
    a GPU that has it, fp16 (with loss scaling in training) on one that does not, fp32 on the CPU.
    ``channels_last``: NHWC memory layout of convolutional training (``auto``: on CUDA). ``compile``:
    ``torch.compile`` of the network a single-network training run steps through (False, True, or a
    ``torch.compile`` mode); it costs a compilation of tens of seconds up front and a recompilation on
    the last, shorter batch of an epoch, so it pays on long runs of large networks only."""

    precision: str = "auto"
    channels_last: str | bool = "auto"
    compile: str | bool = False

    def __post_init__(self):
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ValueError(f"accelerator precision {self.precision!r}: one of auto, bf16, fp16, fp32")
        if self.channels_last not in ("auto", True, False):
            raise ValueError(f"accelerator channels_last {self.channels_last!r}: auto, true or false")
        if self.compile not in (True, False, "default", "reduce-overhead", "max-autotune"):
            raise ValueError(f"accelerator compile {self.compile!r}: false, true or a torch.compile mode")

    def dtype(self, device: torch.device) -> torch.dtype | None:
        """The autocast dtype on ``device``; None for float32 throughout."""
        import torch

        precision = self.precision
        if precision == "auto":
            if device.type != "cuda":
                return None
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]

    def autocast(self, device: torch.device) -> torch.autocast:
        """The forward passes' autocast context on ``device``."""
        import torch

        dtype = self.dtype(device)
        return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def scaler(self, device: torch.device) -> torch.amp.GradScaler:
        """Loss scaling for training: enabled with fp16 only (bf16 has float32's range)."""
        import torch

        return torch.amp.GradScaler(device.type, enabled=self.dtype(device) == torch.float16)

    def memory_format(self, device: torch.device) -> torch.memory_format:
        """Channels-last or the contiguous layout, for a convolutional network and its input batches."""
        import torch

        on = device.type == "cuda" if self.channels_last == "auto" else self.channels_last
        return torch.channels_last if on else torch.contiguous_format

    def compiled(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` through ``torch.compile`` when asked (the module itself otherwise; its parameters
        and state dict are shared either way)."""
        if not self.compile:
            return module
        import torch

        # inductor's own deterministic flag, which deterministic() leaves to the jobs that compile
        torch.use_deterministic_algorithms(torch.are_deterministic_algorithms_enabled(), warn_only=True)
        mode = None if self.compile is True or self.compile == "default" else str(self.compile)
        return cast("torch.nn.Module", torch.compile(module, mode=mode))


def deterministic(torch: ModuleType) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` for the eager kernels, without the
    import of ``torch._inductor`` (and dynamo and sympy) that the public call makes to set the compiler's
    flag too: that import is 1.8 s of every job's start here, for a flag only a compiled run reads.
    :meth:`Accelerator.compiled` sets the compiler's flag before it compiles."""
    torch._C._set_deterministic_algorithms(True, warn_only=True)


def accelerator() -> Accelerator:
    """This job's accelerator settings (:func:`setup`'s ``accelerator``; the defaults outside a job)."""
    raw = os.environ.get(ACCELERATOR_VARIABLE)
    return Accelerator(**json.loads(raw)) if raw else Accelerator()


class Progress:
    """Log ``done/total`` with rate and ETA at most every ``every`` seconds (long loops in job logs)."""

    def __init__(self, logger: logging.Logger, what: str, total: int, every: float = 10.0, start: int = 0):
        self.logger, self.what, self.total, self.every = logger, what, total, every
        self.start_count = start
        self.t0 = self.last = time.monotonic()

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self.last < self.every and done < self.total:
            return
        self.last = now
        rate = (done - self.start_count) / max(now - self.t0, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        self.logger.info("%s %d/%d (%.1f/s, eta %.0fs) %s", self.what, done, self.total, rate, eta, extra)


def stage_times(benchmarks: str | Path) -> pl.DataFrame:
    """Wall time per rule from Snakemake's ``benchmark:`` files (results/benchmarks/<rule>/...tsv): jobs,
    summed and longest wall-clock seconds, CPU seconds and peak resident memory. A job forked from the
    run's warm process (synthval.forkserver) did its work outside the process tree Snakemake measured:
    its own record beside its log (results/logs/<rule>/....usage.json) adds its CPU seconds and memory."""
    import polars as pl  # the report's only: not every job pays for its import

    from synthval.forkserver import usage_path

    rows = []
    for tsv in sorted(Path(benchmarks).rglob("*.tsv")):
        relative = tsv.relative_to(benchmarks)
        bench = pl.read_csv(tsv, separator="\t", null_values=["NA", "-"], infer_schema_length=None)
        usage = usage_path(Path(benchmarks).parent / "logs" / relative.with_suffix(".log"))
        forked = json.loads(usage.read_text()) if usage.is_file() else {}
        for rec in bench.iter_rows(named=True):
            rows.append(
                {
                    "rule": relative.parts[0],
                    "s": float(rec["s"]),
                    "cpu_time": float(rec.get("cpu_time") or 0.0) + float(forked.get("cpu_time", 0.0)),
                    "max_rss": max(float(rec.get("max_rss") or 0.0), float(forked.get("max_rss", 0.0))),
                }
            )
    if not rows:
        return pl.DataFrame(
            schema={
                "stage": pl.String,
                "jobs": pl.Int64,
                "wall s (sum)": pl.Float64,
                "wall s (longest job)": pl.Float64,
                "CPU s (sum)": pl.Float64,
                "peak RSS (MB)": pl.Float64,
            }
        )
    return (
        pl.DataFrame(rows)
        .group_by("rule")
        .agg(
            pl.len().cast(pl.Int64).alias("jobs"),
            pl.col("s").sum().alias("wall s (sum)"),
            pl.col("s").max().alias("wall s (longest job)"),
            pl.col("cpu_time").sum().alias("CPU s (sum)"),
            pl.col("max_rss").max().alias("peak RSS (MB)"),
        )
        .rename({"rule": "stage"})
        .sort("wall s (sum)", descending=True)
    )
