"""Process set-up shared by every job: threads, device, determinism, logging."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: Thread pools of the numerical libraries a job may load, pinned before any of them starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "POLARS_MAX_THREADS")


def setup(threads: int, seed: int | None = None, log_file: str | None = None) -> logging.Logger:
    """Pin the job to ``threads`` (a job uses what its rule declares), make torch's CPU maths
    deterministic, and send log lines to ``log_file`` and stderr.

    Torch is configured only when the job has imported it: the jobs that never touch a tensor
    (indexing, selection, figures, the report) start without paying for its import."""
    threads = max(1, int(threads))
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(threads))
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        if seed is not None:
            torch.manual_seed(seed)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True)
    return logging.getLogger("synthval")


def device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
