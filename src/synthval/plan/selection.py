"""The selection stage (workflow/rules/selection.smk): rank preservation, what a synthetic set is worth
in real images, and the selection protocols with calibration (Shoshan et al. 2023 §4)."""

from __future__ import annotations

from synthval import zoo
from synthval.config import canonical
from synthval.plan import paths
from synthval.plan.stage import Stage


class Selection(Stage):
    def outputs(self, t: str) -> list[str]:
        """The errors, rank and worth tables, their figures, and the selection tables."""
        return [
            paths.errors_table(t),
            paths.rank_table(t),
            paths.worth_table(t),
            paths.worth_table(t, "curve"),
            paths.scatter_plot(t),
            paths.class_error_plot(t),
            *(paths.selection_table(t, n) for n in paths.SELECTION_TABLES),
        ]

    def predictions(self, wildcards) -> list[str]:
        """Every member's predictions: the train members rank on every selection set, the fit members on
        val (the real baseline)."""
        return [paths.predictions(wildcards.trainset, m) for m in self.study.all_models]

    def inputs(self, wildcards) -> dict[str, list[str]]:
        """Predictions of every member (the fit members are the standard protocol's and calibration's),
        and the quality tables (their total variation)."""
        return {
            "predictions": self.predictions(wildcards),
            "quality": [paths.quality_table(wildcards.trainset, g) for g in self.study.generators],
        }

    def families(self, wildcards) -> dict[str, str]:
        """Imported classifier -> its family (:func:`synthval.zoo.families`)."""
        return zoo.families(self.config["zoo"])

    def groups(self, wildcards) -> dict[str, str]:
        """Architecture -> group of the zoo (what the selection figures are split by)."""
        return zoo.groups(self.config["zoo"])

    def settings(self, wildcards) -> dict:
        return canonical(self.config["selection"])

    def worth_draws(self, wildcards) -> int:
        return self.config["selection"]["worth_draws"]

    def selection_seed(self, wildcards) -> int:
        return self.seed("selection", wildcards.trainset)
