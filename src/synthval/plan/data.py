"""The data stage (workflow/rules/data.smk): the splits of each training set, and augmented copies of
the train and fit splits as a validation set (Li et al. 2020)."""

from __future__ import annotations

from synthval.config import augmented_settings, data_settings
from synthval.plan.stage import Stage


class Data(Stage):
    def settings(self, wildcards) -> dict:
        """What splitting a training set reads of the config (its size, the source, the val fraction)."""
        return data_settings(self.config, wildcards.trainset)

    def augmented_settings(self, wildcards) -> dict:
        return augmented_settings(self.config)

    def augmented_seed(self, wildcards) -> int:
        return self.seed("augmented", wildcards.trainset, wildcards.split)
