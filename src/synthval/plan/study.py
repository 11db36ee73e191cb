"""What a config implies for the workflow: its training sets, generators, zoo members, shards, the
study's runs, LiRA's halves and the shifted test sets (:class:`Study`). Every stage of the plan
(``synthval.plan.<stage>``) and the report read it; torch-free and free of Snakemake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthval.config import num_classes
from synthval.families import family_of
from synthval.plan import paths
from synthval.recipes import Run, lira_generators, lira_runs, pool_scale, runs, study_generators
from synthval.zoo import (
    IMPORTED,
    Member,
    epoch_groups,
    imported_members,
    members,
    parse_model,
    save_epochs,
    seed_suffixes,
)


@dataclass(frozen=True)
class Study:
    """What a (validated) config implies for the workflow's files."""

    trainsets: list[str]
    generators: list[str]
    per_class: list[str]  # generators trained one job per class, then assembled
    imported: list[str]  # samples made elsewhere: no training, no sampling
    classes: list[str]
    all_models: list[str]  # every zoo member, the imported ones last
    imported_models: list[str]  # classifiers trained elsewhere (zoo.imported): evaluated, never trained
    suffixes: list[str]  # what tells a configuration's members apart
    shards: list[str]
    webdataset: bool
    augmented: bool
    augmented_splits: list[str]
    runs: dict[str, Run]
    study_generators: list[str]
    train_pool_shards: dict[str, list[str]]
    training_seeds: list[int]
    epoch_groups: dict[tuple[str, ...], list[str]]  # saved-epoch names -> variants training that long
    lira_runs: list[str]  # study runs attacked by membership inference
    lira_halves: list[str]  # LiRA models: one per pool half
    lira_generators: list[str]  # generators trained once per pool half
    corruptions: list[str]  # shifted copies of the test split
    shifts: list[str]  # the corruptions, then the user's shifted test sets
    config: dict[str, Any] = field(repr=False)

    @classmethod
    def from_config(cls, config: dict) -> Study:
        generators = list(config["generators"])
        imported = [m.name for m in imported_members(config["zoo"])]
        all_models = [m.name for m in members(config["zoo"])] + imported
        augmented = config["augmented_validation"]["enabled"]
        study_runs = {r.name: r for r in runs(config)}
        study_gens = study_generators(config) if study_runs else []
        per_x = config["training"]["shards_per_x"]
        robust = config["robustness"]["enabled"] and bool(study_runs)
        corruptions = list(config["robustness"]["corruptions"]) if robust else []
        user_shifts = list(config["robustness"]["sets"]) if robust else []
        return cls(
            trainsets=list(config["data"]["train_sizes"]),
            generators=generators,
            per_class=[g for g in generators if config["generators"][g]["conditioning"] == "per_class"],
            imported=[g for g in generators if not family_of(config["generators"][g]).trained],
            classes=[paths.class_name(c) for c in range(num_classes(config) or 0)],
            all_models=all_models,
            imported_models=imported,
            suffixes=seed_suffixes(config["zoo"]),
            shards=[paths.shard_name(i) for i in range(config["synthesis"]["shards"])],
            webdataset=config["synthesis"]["webdataset"],
            augmented=augmented,
            augmented_splits=sorted({parse_model(m).split for m in all_models if m not in imported})
            if augmented
            else [],
            runs=study_runs,
            study_generators=study_gens,
            train_pool_shards={
                g: [paths.shard_name(i) for i in range(pool_scale(config, g) * per_x)] for g in study_gens
            },
            training_seeds=list(config["training"]["seeds"]),
            epoch_groups={
                tuple(paths.epoch_name(e) for e in epochs): variants
                for epochs, variants in epoch_groups(config["zoo"]).items()
            },
            lira_runs=sorted(r.name for r in lira_runs(config)),  # sorted: the config's key order changes nothing
            lira_halves=[str(k) for k in range(config["privacy"]["lira"]["models"])] if lira_runs(config) else [],
            lira_generators=lira_generators(config),
            corruptions=corruptions,
            shifts=corruptions + user_shifts,
            config=config,
        )

    @property
    def whole(self) -> list[str]:
        """Generators trained in one job."""
        return [g for g in self.sampled if g not in self.per_class]

    @property
    def sampled(self) -> list[str]:
        """Generators whose sets are sampled (all but the imported ones)."""
        return [g for g in self.generators if g not in self.imported]

    @property
    def models(self) -> list[str]:
        """The members trained on the whole train split: the ones synthetic data must rank."""
        return [m for m in self.all_models if parse_model(m).split == "train"]

    @property
    def selection_sets(self) -> list[str]:
        """The sets that rank and select models: every synthetic set, and the augmented training split."""
        return self.generators + (["augmented"] if self.augmented else [])

    def epoch_tags(self, model: str) -> list[str]:
        """The saved epochs of a member, as they appear in its weights' file names (an imported
        classifier has one, epoch 1)."""
        if model in self.imported_models:
            return [paths.epoch_name(1)]
        return [paths.epoch_name(e) for e in save_epochs(self.config["zoo"], parse_model(model).variant)]

    def watchable(self, generator: str) -> bool:
        """Whether a generator is one training job with a live log (not imported, not one per class)."""
        return generator not in self.imported and self.config["generators"][generator]["conditioning"] != "per_class"

    def copy_features(self, trainset: str, dataset: str) -> str:
        """The features copy detection compares: SSCD's when its weights are given, else the quality
        extractor's."""
        if self.config["privacy"]["copy_detection"]["weights"]:
            return paths.sscd_features_file(trainset, dataset)
        return paths.features_file(trainset, dataset)

    def configuration_members(self, configuration: str) -> list[Member]:
        """The members of a configuration, in the order of its jobs' outputs (an imported
        configuration has one)."""
        if configuration.endswith(f"-{IMPORTED}") and f"{configuration}-s0" in self.imported_models:
            return [parse_model(f"{configuration}-s0")]
        return [parse_model(configuration + s) for s in self.suffixes]


# --- which files a job reads: the decisions behind the rules' input functions
