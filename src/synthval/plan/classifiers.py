"""The classifiers stage (workflow/rules/classifiers.smk): the reference classifier, the zoo's
training jobs (one per configuration, its seeds on train and fit batched together) and classifiers
trained elsewhere (``zoo.imported``)."""

from __future__ import annotations

from synthval import zoo
from synthval.config import canonical
from synthval.plan import paths
from synthval.plan.stage import Stage


class Classifiers(Stage):
    @property
    def reference_save_epochs(self) -> list[int]:
        """The reference classifier keeps its last epoch only."""
        return [self.config["reference"]["epochs"]]

    def outputs(self, t: str) -> list[str]:
        """The reference classifier, and each member's history and saved epochs, in epoch order."""
        files = [paths.reference_weights(t), paths.reference_history(t)]
        for m in self.study.all_models:
            files += [
                paths.classifier_history(t, m),
                *(paths.classifier_weights(t, m, e) for e in self.study.epoch_tags(m)),
            ]
        return files

    def reference_spec(self, wildcards) -> dict:
        """The reference classifier: its architecture, trained as the zoo trains it, for its own epochs."""
        ref = self.config["reference"]
        return zoo.training_spec(self.config["zoo"], ref["architecture"], self.config["seed"], epochs=ref["epochs"])

    def reference_members(self, wildcards) -> list[dict]:
        return zoo.reference_members(self.config, wildcards.trainset)

    def reference_workdir(self, wildcards) -> str:
        return paths.reference_resume_dir(wildcards.trainset)

    def rule_name(self, tags) -> str:
        """train_classifier, or train_classifier_<N>ep for variants of another length."""
        return zoo.training_rule_name(self.config["zoo"], map(int, tags))

    def splits(self, wildcards) -> dict[str, str]:
        """The real splits a configuration's members train on: train, and the standard protocol's fit."""
        return {split: paths.data_manifest(wildcards.trainset, split) for split in self.config["zoo"]["train_splits"]}

    def members(self, wildcards) -> list[dict]:
        """Name, training split and seed of each member of a configuration, in the order of its outputs."""
        found = self.study.configuration_members(wildcards.configuration)
        return zoo.member_entries(self.config["seed"], wildcards.trainset, found)

    def spec(self, wildcards) -> dict:
        """Architecture, its keywords and training settings of a configuration's members (only what they
        depend on: the same for each seed and split)."""
        first = self.study.configuration_members(wildcards.configuration)[0]
        return zoo.member_spec(self.config["zoo"], first, self.config["seed"])

    def workdir(self, wildcards) -> str:
        return paths.classifier_resume_dir(wildcards.trainset, wildcards.configuration)

    def imported_entry(self, wildcards) -> dict:
        """A classifier trained elsewhere: its section of ``zoo.imported``."""
        return canonical(self.config["zoo"]["imported"][zoo.parse_model(wildcards.model).arch])

    def imported_weights(self, wildcards) -> str:
        """The weights file of a classifier trained elsewhere."""
        return self.imported_entry(wildcards)["weights"]
