"""The classifier zoo as a config defines it: which members exist, what each one is called, and what
its architecture and training settings are. Torch-free, so the Snakefile can plan thousands of jobs
quickly; :mod:`synthval.classifiers` builds and trains the members.

A member is named ``<arch>-<variant>-s<seed>``, plus ``-fit`` when it is trained on the standard
protocol's 75% sub-split (``fit``) instead of the whole train split. ``<arch>`` is a registered
architecture or ``rwnnNN``, the NN-th randomly wired network of the config.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from synthval.schema import defaults, schema
from synthval.seeding import derive_seed

if TYPE_CHECKING:
    import polars as pl

CONFIGURATION_PATTERN = r"[A-Za-z0-9_]+-[A-Za-z0-9]+"
MODEL_PATTERN = CONFIGURATION_PATTERN + r"-s[0-9]+(?:-fit)?"
_MODEL = re.compile(r"(?P<arch>[A-Za-z0-9_]+)-(?P<variant>[A-Za-z0-9]+)-s(?P<seed>[0-9]+)(?P<fit>-fit)?")
_RWNN = re.compile(r"rwnn(?P<index>[0-9]+)")


def is_random_wired(arch: str) -> bool:
    """Whether ``arch`` names one of the config's randomly wired networks (``rwnnNN``)."""
    return _RWNN.fullmatch(arch) is not None


def architecture_family(arch: str) -> str:
    """The architecture family: ``rwnn`` for every randomly wired graph, else the architecture itself."""
    return "rwnn" if is_random_wired(arch) else arch


_ZOO = defaults("zoo")


@dataclass(frozen=True)
class Member:
    arch: str
    variant: str
    seed: int
    split: str = "train"

    @property
    def name(self) -> str:
        return self.configuration + self.suffix

    @property
    def configuration(self) -> str:
        """``<arch>-<variant>``: what the member's seeds share (one training job trains them all)."""
        return f"{self.arch}-{self.variant}"

    @property
    def suffix(self) -> str:
        """What tells the member apart within its configuration: ``-s<seed>``, plus ``-fit``."""
        return f"-s{self.seed}" + ("-fit" if self.split == "fit" else "")

    @property
    def family(self) -> str:
        """The architecture family (:func:`architecture_family`)."""
        return architecture_family(self.arch)


@dataclass
class TrainSettings:
    """How to train a classifier. Defaults: the config schema's ``zoo`` section (synthval.schema)."""

    epochs: int
    save_epochs: list[int]
    seed: int
    batch_size: int = _ZOO["batch_size"]
    optimizer: str = _ZOO["optimizer"]  # sgd or adamw
    lr: float = _ZOO["lr"]
    momentum: float = _ZOO["momentum"]
    weight_decay: float = _ZOO["weight_decay"]
    label_smoothing: float = _ZOO["label_smoothing"]
    crop_padding: int = _ZOO["crop_padding"]
    flip: bool = _ZOO["flip"]
    schedule: str = _ZOO["schedule"]  # cosine or multistep
    milestones: list[float] = field(default_factory=lambda: list(_ZOO["milestones"]))  # fractions of training
    gamma: float = _ZOO["gamma"]
    warmup_epochs: float = _ZOO["warmup_epochs"]
    extra: dict = field(default_factory=dict)  # recorded in the fingerprint and weights metadata

    def __post_init__(self) -> None:
        bad = [e for e in self.save_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"save_epochs {bad} outside 1..{self.epochs}")
        if self.schedule not in ("cosine", "multistep"):
            raise ValueError(f"unknown schedule {self.schedule!r}; use cosine or multistep")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; use sgd or adamw")

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate at optimiser step ``step`` of ``total``: timm's ``CosineLRScheduler`` (to 0) or
        ``MultiStepLRScheduler`` (x ``gamma`` from each milestone, a fraction of training, on), stepped
        per update, with their linear warm-up from 0 over the first ``warmup_epochs`` (tested to give
        timm's value at every step). timm itself is not imported here: it costs a job 2.6 s."""
        warmup = round(self.warmup_epochs / self.epochs * total)
        if step < warmup:
            return step * (self.lr / warmup)
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * step / total))
        return self.lr * self.gamma ** sum(step >= m * total for m in self.milestones)


#: The settings a zoo member gets from its training job rather than from the config.
_PER_JOB = ("save_epochs", "seed", "extra")
#: The zoo-wide trainer settings: every :class:`TrainSettings` field the config's zoo section sets.
ZOO_TRAIN_KEYS = tuple(f.name for f in fields(TrainSettings) if f.name not in _PER_JOB)
#: Trainer settings an architecture's own settings or a variant may override (the schema's
#: ``$defs.training``); ``epochs`` too, and ``width`` goes to the architecture.
TRAIN_KEYS = tuple(schema()["$defs"]["training"]["properties"])


def architecture_of(configuration: str) -> str:
    """The architecture of a configuration ``<arch>-<variant>`` (an architecture name has no hyphen)."""
    return configuration.rsplit("-", 1)[0]


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
    """Every member, architectures x variants x seeds x training splits (``fit_seeds``, when set, are
    the seeds of the fit sub-split's members)."""
    seeds = {"train": zoo["seeds"], "fit": zoo.get("fit_seeds") or zoo["seeds"]}
    return [
        Member(a, v, s, split)
        for split in zoo["train_splits"]
        for a in architectures(zoo)
        for v in zoo["variants"]
        for s in seeds[split]
    ]


#: The variant of every imported member: ``<name>-imported-s0``, one member per configuration, ranked
#: with the members trained on the train split (it has no fit sub-split member: the standard protocol
#: cannot choose it).
IMPORTED = "imported"


def imported_members(zoo: dict) -> list[Member]:
    """The classifiers ``zoo.imported`` names (trained elsewhere; evaluated, never trained here)."""
    return [Member(name, IMPORTED, 0, "train") for name in zoo.get("imported") or {}]


def configurations(zoo: dict) -> list[str]:
    """Every ``<arch>-<variant>``, in the order of :func:`members`."""
    return [f"{a}-{v}" for a in architectures(zoo) for v in zoo["variants"]]


def seed_suffixes(zoo: dict) -> list[str]:
    """The member suffixes every configuration has (its seeds on each training split), in the order of
    :func:`members`: a configuration's members are its name plus each of these."""
    first = architectures(zoo)[0], next(iter(zoo["variants"]))
    return [m.suffix for m in members(zoo) if (m.arch, m.variant) == first]


def member_seed(global_seed: int, trainset: str, member: Member) -> int:
    """The seed of everything random in a member's training (initial weights, data order, augmentation):
    from the config's seed and the member's whole identity, so no two members, and no member and the
    reference classifier, share a random stream (Shoshan et al. 2023 §4 trains each member independently)."""
    return derive_seed(global_seed, "member", trainset, member.arch, member.variant, member.split, member.seed)


def reference_seed(global_seed: int, trainset: str, seed: int) -> int:
    """The reference classifier's seed: its own stream, never a zoo member's, although it may share a
    member's architecture (it is also the feature extractor, pseudo-labeller and PG guide)."""
    return derive_seed(global_seed, "reference", trainset, seed)


#: The groups a zoo falls into unless ``zoo.groups`` names its own: Shoshan et al. 2023 keeps its standard
#: architectures (§4.1) apart from its similar randomly wired networks (§4.2).
STANDARD, RANDOM_WIRED = "standard", "randomly wired"


def groups(zoo: dict) -> dict[str, str]:
    """Architecture -> group. ``zoo.groups`` (group name -> architectures, ``rwnn`` standing for every
    randomly wired one) when given, which must place every architecture exactly once; otherwise the
    standard architectures and the randomly wired networks. Selection figures exist per group and
    pooled, since differences between groups can carry a pooled figure."""
    archs = architectures(zoo)
    named = zoo.get("groups") or {}
    imported = {m.arch: IMPORTED for m in imported_members(zoo)}  # a group of their own
    if not named:
        return {a: RANDOM_WIRED if is_random_wired(a) else STANDARD for a in archs} | imported
    out: dict[str, str] = {}
    for group, listed in named.items():
        for arch in archs:
            if arch in listed or architecture_family(arch) in listed:
                if arch in out:
                    raise ValueError(f"config key zoo.groups: {arch!r} is in both {out[arch]!r} and {group!r}")
                out[arch] = group
    if missing := [a for a in archs if a not in out]:
        raise ValueError(f"config key zoo.groups: {missing} belong to no group; groups: {sorted(named)}")
    return out | imported


def families(zoo: dict) -> dict[str, str]:
    """Imported classifier -> the family its ``family:`` key names (pretrained models of one family err
    alike: the three questions count families, not models; :mod:`synthval.questions`). Models without one
    are a family of their own and are left out."""
    return {name: entry["family"] for name, entry in (zoo.get("imported") or {}).items() if entry.get("family")}


def graph_seed(global_seed: int, index: int) -> int:
    """The seed of the ``index``-th random graph: from the config's seed only, never a training seed."""
    return derive_seed(global_seed, "rwnn", index)


def train_settings(zoo: dict) -> dict[str, Any]:
    """The zoo-wide trainer settings (what a member trains with unless its variant overrides them)."""
    return {k: zoo[k] for k in ZOO_TRAIN_KEYS}


def variant_epochs(zoo: dict, variant: str) -> int:
    """How many epochs the members of ``variant`` train for."""
    return zoo["variants"][variant].get("epochs", zoo["epochs"])


def save_epochs(zoo: dict, variant: str) -> list[int]:
    """The epochs whose weights a member of ``variant`` keeps: the zoo's ``save_epochs`` within its
    training, and always its last epoch."""
    last = variant_epochs(zoo, variant)
    return sorted({e for e in zoo["save_epochs"] if e <= last} | {last})


def epoch_groups(zoo: dict) -> dict[tuple[int, ...], list[str]]:
    """Variants grouped by the epochs they keep (one training rule per group: a rule's outputs are fixed)."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for variant in zoo["variants"]:
        groups.setdefault(tuple(save_epochs(zoo, variant)), []).append(variant)
    return groups


def one_of(names: Iterable[str]) -> str:
    """A wildcard regex matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def configuration_pattern(variants: Iterable[str]) -> str:
    """The configuration-name regex restricted to ``variants``."""
    return CONFIGURATION_PATTERN.replace("-[A-Za-z0-9]+", f"-(?:{one_of(variants)})", 1)


def training_rule_name(zoo: dict, epochs: Iterable[int]) -> str:
    """The rule that trains configurations saving ``epochs``: train_classifier for the zoo-wide length,
    train_classifier_<N>ep for variants of another length N (one rule per length, so each job's
    outputs are the same set of files)."""
    last = max(epochs)
    return "train_classifier" if last == zoo["epochs"] else f"train_classifier_{last}ep"


def member_entries(global_seed: int, trainset: str, found: Iterable[Member]) -> list[dict]:
    """Name, training split and seed of each of a configuration's members, in the order given (the
    order of its training job's outputs; train_classifier's members)."""
    return [{"name": m.name, "split": m.split, "seed": member_seed(global_seed, trainset, m)} for m in found]


def reference_members(config: dict, trainset: str) -> list[dict]:
    """The reference classifier, as train_classifier takes members."""
    seed = reference_seed(config["seed"], trainset, config["reference"]["seed"])
    return [{"name": "reference", "split": "train", "seed": seed}]


def member_spec(zoo: dict, member: Member, global_seed: int) -> dict[str, Any]:
    """What to build and how to train a zoo member: :func:`training_spec` with its variant."""
    return training_spec(zoo, member.arch, global_seed, variant=zoo["variants"][member.variant])


def training_spec(
    zoo: dict, arch: str, global_seed: int, *, variant: dict | None = None, epochs: int | None = None
) -> dict[str, Any]:
    """What to build and how to train it: ``arch`` (registry name), ``hparams`` (architecture keywords)
    and ``train`` (trainer settings). One override rule for every network the workflow trains (zoo
    members, the reference classifier, the training study's runs): the zoo's settings, overridden by
    the architecture's own (``architecture_settings``: e.g. AdamW for ConvNeXt and ViT, or ResNeXt-29's
    width), overridden by a member's variant (the hyper-parameter axis, so it always wins); ``epochs``,
    when given (the reference's, a study run's), is the training length whatever the others say.
    ``arch`` may be ``rwnnNN``, the config's NN-th randomly wired network."""
    own = zoo["architecture_settings"].get(architecture_family(arch), {})
    train = train_settings(zoo)
    hparams: dict[str, Any] = {}
    for overrides in (own, variant or {}):
        train.update({k: v for k, v in overrides.items() if k in (*TRAIN_KEYS, "epochs")})
        hparams.update({k: v for k, v in overrides.items() if k == "width"})
    if epochs is not None:
        train["epochs"] = epochs
    if match := _RWNN.fullmatch(arch):
        rw = zoo["random_wired"]
        hparams = {
            "graph_seed": graph_seed(global_seed, int(match["index"])),
            "nodes": rw["nodes"],
            "k": rw["k"],
            "p": rw["p"],
            "width": rw["width"],
            **hparams,
        }
        arch = "rwnn"
    return {"arch": arch, "hparams": dict(sorted(hparams.items())), "train": dict(sorted(train.items()))}


def zoo_table(config: dict, models: Iterable[str]) -> pl.DataFrame:
    """Architecture, hyper-parameters, seed and training settings of zoo members, from the configuration
    exactly as their training jobs received it (``member_spec``)."""
    import polars as pl  # planning a workflow never needs it

    rows = []
    imported = config["zoo"].get("imported") or {}
    for name in models:
        member = parse_model(name)
        if member.variant == IMPORTED:
            entry = imported[member.arch]
            rows.append(
                {
                    "model": name,
                    "architecture": entry.get("timm_model") or entry["architecture"],
                    "hyper-parameters": f"imported from {entry['weights']}",
                    "variant": member.variant,
                    "seed": None,
                    "trained on": "elsewhere",
                }
            )
            continue
        spec = member_spec(config["zoo"], member, config["seed"])
        hparams = ", ".join(f"{k}={v}" for k, v in sorted(spec["hparams"].items()) if k != "graph_seed")
        train = spec["train"]
        rows.append(
            {
                "model": name,
                "architecture": member.arch,
                "hyper-parameters": hparams or "-",
                "variant": member.variant,
                "seed": member.seed,
                "trained on": member.split,
                "epochs": train["epochs"],
                "optimizer": train["optimizer"],
                "lr": train["lr"],
                "batch": train["batch_size"],
                "weight decay": train["weight_decay"],
                "schedule": train["schedule"],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)
