"""The classifier zoo as a config defines it: which members exist, what each one is called, and what
its architecture and training settings are. Torch-free, so the Snakefile can plan thousands of jobs
quickly; :mod:`synthval.classifiers` builds and trains the members.

A member is named ``<arch>-<variant>-s<seed>``, plus ``-fit`` when it is trained on the standard
protocol's 75% sub-split (``fit``) instead of the whole train split. ``<arch>`` is a registered
architecture or ``rwnnNN``, the NN-th randomly wired network of the config.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

MODEL_PATTERN = r"[A-Za-z0-9_]+-[A-Za-z0-9]+-s[0-9]+(?:-fit)?"
_MODEL = re.compile(r"(?P<arch>[A-Za-z0-9_]+)-(?P<variant>[A-Za-z0-9]+)-s(?P<seed>[0-9]+)(?P<fit>-fit)?")
_RWNN = re.compile(r"rwnn(?P<index>[0-9]+)")
#: Settings a variant may override (architecture keyword ``width`` included).
TRAIN_KEYS = ("lr", "batch_size", "momentum", "weight_decay", "label_smoothing")


@dataclass(frozen=True)
class Member:
    arch: str
    variant: str
    seed: int
    split: str = "train"

    @property
    def name(self) -> str:
        return f"{self.arch}-{self.variant}-s{self.seed}" + ("-fit" if self.split == "fit" else "")

    @property
    def family(self) -> str:
        """The architecture family: ``rwnn`` for every randomly wired graph, else the architecture."""
        return "rwnn" if _RWNN.fullmatch(self.arch) else self.arch


def parse_model(name: str) -> Member:
    match = _MODEL.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not a zoo member name (<arch>-<variant>-s<seed>[-fit])")
    return Member(match["arch"], match["variant"], int(match["seed"]), "fit" if match["fit"] else "train")


def architectures(zoo: dict) -> list[str]:
    """The standard architectures, then ``rwnn00``... for the randomly wired ones."""
    count = zoo["random_wired"]["count"]
    return list(zoo["architectures"]) + [f"rwnn{i:0{max(2, len(str(count - 1)))}d}" for i in range(count)]


def members(zoo: dict) -> list[Member]:
    """Every member, architectures x variants x seeds x training splits."""
    return [Member(a, v, s, split) for split in zoo["train_splits"] for a in architectures(zoo) for v in zoo["variants"] for s in zoo["seeds"]]


def graph_seed(global_seed: int, index: int) -> int:
    """The seed of the ``index``-th random graph: from the config's seed only, never a training seed."""
    return int.from_bytes(hashlib.sha256(f"{global_seed}\x1frwnn\x1f{index}".encode()).digest()[:4], "little")


def train_settings(zoo: dict) -> dict[str, Any]:
    """The zoo-wide trainer settings (what a member trains with unless its variant overrides them)."""
    return {k: zoo[k] for k in ("epochs", "schedule", "milestones", "gamma", "crop_padding", "flip", *TRAIN_KEYS)}


def member_spec(zoo: dict, member: Member, global_seed: int) -> dict[str, Any]:
    """What to build and how to train it: ``arch`` (registry name), ``hparams`` (architecture
    keywords) and ``train`` (trainer settings: the zoo's, overridden by the member's variant)."""
    variant = zoo["variants"][member.variant]
    train = train_settings(zoo)
    train.update({k: v for k, v in variant.items() if k in TRAIN_KEYS})
    hparams = {"width": variant["width"]} if "width" in variant else {}
    arch = member.arch
    if match := _RWNN.fullmatch(arch):
        rw = zoo["random_wired"]
        hparams = {"graph_seed": graph_seed(global_seed, int(match["index"])), "nodes": rw["nodes"], "k": rw["k"], "p": rw["p"], "width": rw["width"], **hparams}
        arch = "rwnn"
    return {"arch": arch, "hparams": dict(sorted(hparams.items())), "train": dict(sorted(train.items()))}
