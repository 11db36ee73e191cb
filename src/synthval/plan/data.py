"""The data stage (workflow/rules/data.smk): the splits of each training set, and augmented copies of
the train and fit splits as a validation set (Li et al. 2020)."""

from __future__ import annotations

from synthval.config import augmented_settings, data_settings
from synthval.plan import paths
from synthval.plan.stage import Stage


class Data(Stage):
    def outputs(self, t: str) -> list[str]:
        """The splits of training set ``t``, their summary and the augmented copies."""
        return [
            paths.data_summary(t),
            *(paths.data_manifest(t, s) for s in paths.SPLITS),
            *(paths.augmented_manifest(t, s) for s in self.study.augmented_splits),
        ]

    def settings(self, wildcards) -> dict:
        """What splitting a training set reads of the config (its size, the source, the val fraction)."""
        return data_settings(self.config, wildcards.trainset)

    def augmented_settings(self, wildcards) -> dict:
        return augmented_settings(self.config)

    def augmented_seed(self, wildcards) -> int:
        return self.seed("augmented", wildcards.trainset, wildcards.split)
