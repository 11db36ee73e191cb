"""The robustness stage (workflow/rules/robustness.smk): distribution shift (Yuan et al. 2024 §4.4, App. G.3),
shifted copies of the test split and the user's shifted test sets, every study run and seed scored on
them in one job (loading a model costs more than scoring it)."""

from __future__ import annotations

from synthval.plan import paths
from synthval.plan.stage import Stage


class Robustness(Stage):
    def outputs(self, t: str) -> list[str]:
        """Each shifted split, the scores on them, the summary table and its figure (none without shifts)."""
        study = self.study
        if not study.shifts:
            return []
        files = [paths.shift_manifest(t, s) for s in study.shifts] + [paths.shift_scores(t)]
        return [*files, paths.robustness_table(t), paths.result_plot(t, paths.ROBUSTNESS_PLOT)]

    def is_corruption(self, wildcards) -> bool:
        return wildcards.shift in self.study.corruptions

    def split_inputs(self, wildcards) -> dict[str, str]:
        """The test split; for a user's shifted set, its source and the data summary (class names)."""
        inputs = {"test": paths.data_manifest(wildcards.trainset, "test")}
        if not self.is_corruption(wildcards):
            inputs["source"] = self.config["robustness"]["sets"][wildcards.shift]
            inputs["summary"] = paths.data_summary(wildcards.trainset)
        return inputs

    def shift_seed(self, wildcards) -> int:
        return self.seed("shift", wildcards.trainset, wildcards.shift)

    @property
    def runs(self) -> list[str]:
        """The study's runs in the order of score_shift's weights."""
        return sorted(self.study.runs)

    def inputs(self, wildcards) -> dict[str, str | list[str]]:
        """Every study run's weights (runs sorted by name, then seeds), the clean test split and every
        shifted test set."""
        trainset = wildcards.trainset
        return {
            "weights": [
                paths.recipe_file(trainset, r, s, "classifier.safetensors")
                for r in self.runs
                for s in self.study.training_seeds
            ],
            "test": paths.data_manifest(trainset, "test"),
            "shifts": [paths.shift_manifest(trainset, shift) for shift in self.study.shifts],
        }
