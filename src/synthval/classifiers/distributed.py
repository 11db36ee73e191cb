"""One training job over the GPUs of a node: ``ranks`` processes forming one ``torch.distributed`` job
(NCCL on CUDA, gloo on CPU), started by the job itself as ``torchrun --standalone`` starts them, so
a SLURM job needs one task with its GPUs (``gpus`` x ``ranks``) and its cores, and nothing changes in how
Snakemake runs the rule. What a rank runs is a library function taking plain data (:mod:`synthval.jobs`);
:func:`synthval.classifiers.trainer.fit` and :func:`synthval.generators.train_generator` do the rest:
each rank trains its share of every batch, rank 0 writes.

Batched members (vmap over the seeds of a configuration, :mod:`synthval.classifiers.batched`) and ranks
are exclusive: batching pays where networks are too small to fill one device, ranks where one network
needs several; with ``ranks`` > 1 a configuration's members train one after another, each over all ranks.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from synthval.runtime import setup


def run_ranks(world: int, threads: int, function: str, *args: Any) -> None:
    """``function`` (``module:name``, a library function) called with ``args`` (plain JSON data) in
    ``world`` fresh processes that form one distributed job on this node (rank ``r`` on GPU ``r`` when
    there are GPUs), each with ``threads`` CPU threads. Fresh interpreters (as torchrun starts them),
    not forks of this one: a workflow script is no module a rank could import. Their output goes to
    this job's log file and standard error, each line tagged with its rank; a rank that fails fails the job,
    naming its exit status."""
    with tempfile.TemporaryDirectory(prefix="synthval-ranks-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"function": function, "args": args, "world": world, "threads": threads}))
        env = {**os.environ, "SYNTHVAL_RENDEZVOUS": str(Path(tmp) / "rendezvous")}
        command = [sys.executable, "-m", "synthval.classifiers.distributed", str(job)]
        ranks = [subprocess.Popen([*command, str(rank)], env=env) for rank in range(world)]
        failed = [(rank, code) for rank, proc in enumerate(ranks) if (code := proc.wait()) != 0]
    if failed:
        raise RuntimeError(f"distributed training failed: rank(s) {failed} (rank, exit status); their errors are above")


def _rank(job: dict, rank: int) -> None:
    world = job["world"]
    setup(job["threads"], rank=rank)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(rank % torch.cuda.device_count())
    rendezvous = os.environ["SYNTHVAL_RENDEZVOUS"]
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    module, name = job["function"].split(":")
    try:
        getattr(importlib.import_module(module), name)(*job["args"])
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _rank(json.loads(Path(sys.argv[1]).read_text()), int(sys.argv[2]))
