"""The evaluation stage (workflow/rules/evaluation.smk): one prediction job per configuration, every
member's saved epochs on each of its evaluation sets."""

from __future__ import annotations

from synthval.plan import paths
from synthval.plan.stage import Stage
from synthval.zoo import IMPORTED, Member, configuration_pattern, parse_model


class Evaluation(Stage):
    @property
    def configuration_pattern(self) -> str:
        """What a zoo configuration's name looks like (``<arch>-<variant>``, the config's variants)."""
        return configuration_pattern(self.config["zoo"]["variants"])

    def outputs(self, t: str) -> list[str]:
        """Each member's predictions."""
        return [paths.predictions(t, m) for m in self.study.all_models]

    @property
    def imported_configurations(self) -> list[str]:
        """Classifiers trained elsewhere: each a configuration of one member."""
        return [parse_model(m).configuration for m in self.study.imported_models]

    def eval_sets(self, trainset: str, member: Member) -> dict[str, tuple[str, str]]:
        """{evaluation set: (predict's input name, manifest)} of a member: the real test split and every
        synthetic set of its training set, the val split for members trained on fit (the standard
        protocol's validation set), and augmented copies of the split it was trained on (not for an
        imported classifier: its training data are not this workflow's).
        """
        split = member.split
        sets = {"test": ("test", paths.data_manifest(trainset, "test"))}
        if split == "fit":
            sets["val"] = ("val", paths.data_manifest(trainset, "val"))
        if self.study.augmented and member.variant != IMPORTED:
            sets["augmented"] = (f"augmented_{split}", paths.augmented_manifest(trainset, split))
        return sets | {g: (g, paths.synthetic_manifest(trainset, g)) for g in self.study.generators}

    def _member_sets(self, wildcards) -> dict[str, dict[str, tuple[str, str]]]:
        found = self.study.configuration_members(wildcards.configuration)
        return {m.name: self.eval_sets(wildcards.trainset, m) for m in found}

    def sets(self, wildcards) -> dict[str, str]:
        """Every evaluation set of a configuration's members, by predict's input name."""
        return {key: manifest for sets in self._member_sets(wildcards).values() for key, manifest in sets.values()}

    def member_sets(self, wildcards) -> dict[str, dict[str, str]]:
        """Member -> {evaluation set: predict's input holding it} (predict's params)."""
        return {
            member: {name: key for name, (key, _) in sets.items()}
            for member, sets in self._member_sets(wildcards).items()
        }

    def weights(self, wildcards) -> list[str]:
        """Every saved epoch of every member of a configuration."""
        return [
            paths.classifier_weights(wildcards.trainset, m.name, e)
            for m in self.study.configuration_members(wildcards.configuration)
            for e in self.study.epoch_tags(m.name)
        ]
