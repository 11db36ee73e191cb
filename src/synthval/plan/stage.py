"""What every stage of the plan shares: the study it plans, the code digest its jobs carry, their seeds
and the resources that grow with each retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthval.io import record_path
from synthval.plan.study import Study
from synthval.provenance import code_digest
from synthval.seeding import derive_seed


class Stage:
    """One rules file's part of the plan: the inputs of its jobs and their settings, as functions of a
    job's wildcards (Snakemake calls them with the job's ``wildcards``; anything with the same attributes
    will do, which is how the tests call them)."""

    def __init__(self, study: Study, scripts: str | Path):
        self.study = study
        self.config = study.config
        self.scripts = Path(scripts)

    def outputs(self, t: str) -> list[str]:
        """Every file this stage's rules make for training set ``t``: rule all asks for them all
        (:meth:`synthval.plan.workflow.Plan.all_outputs`)."""
        return []

    def code(self, script: str) -> Callable[[Any], str]:
        """A params entry that changes when the library code ``script`` runs changes, or this stage's
        plan module, so an edit reruns exactly the jobs that run it (Snakemake itself tracks only the
        script; see synthval.provenance). A function, so that a job step on a cluster digests its own
        script only."""
        path, plan = self.scripts / script, type(self).__module__

        def digest(wildcards) -> str:
            return code_digest(path, plan=plan)

        return digest

    @property
    def global_seed(self) -> int:
        """The config's ``seed``, from which every job's seed is derived (:meth:`seed`)."""
        return self.config["seed"]

    @property
    def shard_size(self) -> int:
        """Images a shard of a split holds (the config's ``data.shard_size``)."""
        return self.config["data"]["shard_size"]

    @property
    def gpu(self) -> int:
        """GPUs a one-process job asks for (the config's ``gpus``)."""
        return self.config["gpus"]

    @property
    def loading(self) -> dict[str, Any]:
        """How a job that trains on a split reads it: held or streamed, and the stream's settings
        (the config's ``data.stream``, ``stream_above_gb``, ``shuffle_buffer``, ``loader_workers``,
        ``prefetch``)."""
        data = self.config["data"]
        return {k: data[k] for k in ("stream", "stream_above_gb", "shuffle_buffer", "loader_workers", "prefetch")}

    def ranks(self, rule: str) -> int:
        """Processes that train each network of ``rule`` as one distributed job (the config's ``ranks``)."""
        return self.config["ranks"][rule]

    def gpus(self, rule: str) -> int:
        """GPUs a job of ``rule`` asks for: the config's ``gpus`` for each of its ranks."""
        return self.config["gpus"] * self.ranks(rule)

    def training_threads(self, ranks: int = 1) -> int:
        """Cores a training job uses: one per rank, and each rank's DataLoader workers where its split may
        be streamed (``data.loader_workers``; a held split is decoded once, in the training process). With
        ``data.stream: auto`` a split is streamed when its decoded pixels exceed ``stream_above_gb``
        (synthval.data.stream.should_stream); the largest training set's are bounded here by its size times
        ``image_size`` squared times 3 channels, so that a job whose splits are held asks for one core a
        rank, and two such jobs share a two-core machine instead of one waiting for the other's idle core."""
        data = self.config["data"]
        if data["stream"] == "never" or (data["stream"] == "auto" and not self._may_stream()):
            return ranks
        return ranks * (1 + data["loader_workers"])

    def _may_stream(self) -> bool:
        """Whether ``data.stream: auto`` may stream a training split: its decoded pixels, at most the largest
        training set's images at the data's size and 3 channels, above ``stream_above_gb``."""
        data = self.config["data"]
        largest = max(data["train_sizes"].values(), default=0)
        return largest * data["image_size"] ** 2 * (data["channels"] or 3) > data["stream_above_gb"] * 2**30

    @property
    def accelerator(self) -> dict[str, Any]:
        """How a job uses a GPU (the config's ``accelerator``; synthval.runtime.Accelerator): a params
        entry, so that a job computed at another precision or layout is computed again."""
        return dict(self.config["accelerator"])

    def seed(self, *identity: Any) -> int:
        """The seed of one job's randomness: the config's seed and the identity of what it seeds."""
        return derive_seed(self.config["seed"], *identity)

    @staticmethod
    def records(paths_of: Callable[[Any], str | list[str]]) -> Callable[[Any], str | list[str]]:
        """The producers' records (``<shard>.sha256``, synthval.io.write_record) of the shards ``paths_of``
        gives: the jobs that index or convert shards check each one against its record."""

        def records(wildcards):
            found = paths_of(wildcards)
            return [record_path(p) for p in found] if isinstance(found, list) else record_path(found)

        return records


def grow_with_attempt(base: int) -> Callable[[Any, int], int]:
    """A resource that doubles, triples... with each retry of a failed job."""

    def grow(wildcards, attempt: int) -> int:
        return base * attempt

    return grow
