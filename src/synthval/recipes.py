"""Training-set recipes: how the studies of training with generated data (Wang et al. 2024; Sehwag et al. 2022;
Yuan et al. 2024) are laid out from the config's ``training`` section. Torch-free, so the Snakefile can plan
jobs quickly.

A *method* is one row of Wang et al.'s Table 4: what a classifier trains on (``data``) and how:

* ``real``: the real train split only (the baseline every method is compared with);
* ``synthetic``: a synthetic set of ``scale`` x the train split's size only (zero-shot; with scale 1
  its test accuracy is the Classification Accuracy Score, CAS);
* ``real+synthetic``: both, ``ratio`` synthetic images per real image in every batch (simple
  augmentation, Wang et al.'s "Aug." and Sehwag et al.'s mixing);
* ``synthetic>real``: two stages, ``pretrain_epochs`` on the synthetic set, then the usual epochs on
  the real split (Wang et al.'s "Adp." baseline);

and trains for the study's ``epochs`` unless it sets its own. An epoch is one pass over the run's first
source (the real split, or the synthetic set for synthetic-only runs), so a ``real+synthetic`` run at
ratio r takes (1 + r) times as many optimiser steps as real-only training, and a synthetic-only run at
scale N takes N times as many: a ``real`` method with more epochs is the compute-matched control;

each optionally with Pretrained Guidance and, with both sources in a batch, Real Guidance (Wang et al. 2024 §4).
A *run* is a method applied to one generator (or to none, for ``real``); it is named ``<method>`` or
``<method>-<generator>`` and trained once per seed. The recipe string of a run is the design's
notation: ``real``, ``synthetic:<generator>``, ``real+synthetic:<generator>:<ratio>``, plus ``+pg``,
``+rg``, ``xN`` for a scaled synthetic set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthval.seeding import derive_seed

DATA = ("real", "synthetic", "real+synthetic", "synthetic>real")
#: settings a method may set, and their defaults
METHOD_DEFAULTS: dict[str, Any] = {
    "ratio": 1.0,
    "scale": 1,
    "pretrained_guidance": False,
    "real_guidance": False,
    "pretrain_epochs": None,
    "epochs": None,
}


@dataclass(frozen=True)
class Run:
    method: str
    generator: str | None
    data: str
    ratio: float = 1.0
    scale: int = 1
    pretrained_guidance: bool = False
    real_guidance: bool = False
    pretrain_epochs: int | None = None
    epochs: int | None = None

    @property
    def name(self) -> str:
        return self.method if self.generator is None else f"{self.method}-{self.generator}"

    @property
    def uses_real(self) -> bool:
        return self.data != "synthetic"

    @property
    def uses_synthetic(self) -> bool:
        return self.data != "real"

    @property
    def recipe(self) -> str:
        """The design's notation: ``real``, ``synthetic:wgan``, ``real+synthetic:wgan:1``, ..."""
        if self.data == "real":
            text = "real"
        elif self.data == "real+synthetic":
            text = f"real+synthetic:{self.generator}:{self.ratio:g}"
        else:
            text = f"{self.data}:{self.generator}"
        if self.uses_synthetic and self.scale != 1:
            text += f" x{self.scale}"
        return text + "".join(
            f" +{tag}" for tag, on in (("pg", self.pretrained_guidance), ("rg", self.real_guidance)) if on
        )

    def settings(self) -> dict[str, Any]:
        """What this run's training depends on (Snakemake params: changing one reruns just its jobs)."""
        out: dict[str, Any] = {
            "data": self.data,
            "pretrained_guidance": self.pretrained_guidance,
            "epochs": self.epochs,
        }
        if self.data == "real+synthetic":
            out |= {"ratio": self.ratio, "real_guidance": self.real_guidance}
        if self.uses_synthetic:
            out["scale"] = self.scale
        if self.data == "synthetic>real":
            out["pretrain_epochs"] = self.pretrain_epochs
        return out


def run_seed(global_seed: int, trainset: str, seed: int) -> int:
    """The seed of the study's ``seed``-th replicate on ``trainset``: the same for every run, so the runs
    the report pairs by seed (a method against real-only training) start from the same initial weights
    and see the real images in the same order; only what the method adds differs."""
    return derive_seed(global_seed, "training", trainset, seed)


def study_generators(config: dict) -> list[str]:
    """The generators whose data the study trains on: ``training.generators``, or every generator trained
    here (imported sets are validation sets only: they are never sampled for training)."""
    from synthval.families import family_of

    trained = [name for name, gen in config["generators"].items() if family_of(gen).trained]
    return list(config["training"]["generators"] or trained)


def methods(training: dict) -> dict[str, dict[str, Any]]:
    """The configured methods with defaults filled, then one synthetic-only method per entry of the
    scaling series that no configured method already is (named ``synthetic_x<N>``)."""
    out = {}
    for name, given in training["methods"].items():
        method = {**METHOD_DEFAULTS, **given}
        if method["epochs"] is None:
            method["epochs"] = training["epochs"]
        if method["data"] == "synthetic>real" and method["pretrain_epochs"] is None:
            method["pretrain_epochs"] = training["epochs"]
        out[name] = method
    plain = {**METHOD_DEFAULTS, "data": "synthetic", "epochs": training["epochs"]}
    for scale in training["scaling"]:
        wanted = {**plain, "scale": scale}
        if not any(_same(m, wanted) for m in out.values()):
            out[f"synthetic_x{scale}"] = wanted
    return out


def _same(a: dict, b: dict) -> bool:
    return Run("m", "g", **a).settings() == Run("m", "g", **b).settings()


def runs(config: dict) -> list[Run]:
    """Every run of the study: each method once if it uses only real data, else once per generator."""
    training = config["training"]
    if not training["enabled"]:
        return []
    out = []
    for name, method in methods(training).items():
        targets = [None] if method["data"] == "real" else study_generators(config)
        out += [Run(name, g, **method) for g in targets]
    return out


def run_by_name(config: dict, name: str) -> Run:
    for run in runs(config):
        if run.name == name:
            return run
    raise ValueError(f"{name!r} is not a run of the training study")


def pool_scale(config: dict, generator: str) -> int:
    """How many train-size units of synthetic training images a generator must provide (the largest
    scale a run asks of it; at least 1, for CAS and the content-gap analysis)."""
    return max([1, *(r.scale for r in runs(config) if r.generator == generator)])


#: The eval-set name of the real train split when it is a content-gap set.
REAL_TRAIN = "real_train"


def gap_sources(run: Run, config: dict) -> list[str]:
    """The content-gap sets a run is scored on (Wang et al. 2024 Observation 3): for a plain real-only run,
    every study generator's 1x synthetic training images (by generator name); for a plain 1x
    synthetic-only run without guidance, the real train split (:data:`REAL_TRAIN`). A run of other
    length (a compute-matched control) is not: the gap is the plain runs'."""
    if run.epochs != config["training"]["epochs"]:
        return []
    if run.data == "real":
        return study_generators(config)
    if run.data == "synthetic" and run.scale == 1 and not run.pretrained_guidance:
        return [REAL_TRAIN]
    return []


def pool_per_class(config: dict, trainset: str, num_classes: int) -> int:
    """Synthetic training images per class and train-size multiple: the training set's size spread
    evenly over the classes."""
    return max(1, round(config["data"]["train_sizes"][trainset] / num_classes))


def pool_shard_index(config: dict, shard: int) -> int:
    """A training-pool shard's place within its train-size multiple (each multiple is class-balanced)."""
    return shard % config["training"]["shards_per_x"]


def lira_runs(config: dict) -> list[Run]:
    """The study's runs that membership inference attacks (``privacy.lira.methods``), in study order;
    none when LiRA or the study is off."""
    lira = config["privacy"]["lira"]
    if not lira["enabled"]:
        return []
    generators = lira["generators"] or study_generators(config)
    return [r for r in runs(config) if r.method in lira["methods"] and r.generator in (None, *generators)]


def lira_generators(config: dict) -> list[str]:
    """The generators trained once per pool half for LiRA: those of the attacked runs with synthetic data."""
    return list(dict.fromkeys(r.generator for r in lira_runs(config) if r.uses_synthetic and r.generator))


def lira_seed(global_seed: int, trainset: str, half: int) -> int:
    """The seed of LiRA model ``half`` (its initialisation and batch order): shared by every attacked
    run, so the runs differ only in what they train on."""
    return derive_seed(global_seed, "lira", trainset, half)


def lira_per_class(config: dict, trainset: str, num_classes: int) -> int:
    """Synthetic images per class of a pool half's synthetic set: as many images as the half holds."""
    return max(1, round(config["data"]["train_sizes"][trainset] / 2 / num_classes))
