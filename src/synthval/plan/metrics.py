"""The metrics stage (workflow/rules/metrics.smk): features of the real and synthetic sets, the quality
metrics, and copy detection (Yuan et al. 2024 App. G) with SSCD's or the quality extractor's features."""

from __future__ import annotations

from synthval.config import canonical, extractor_settings
from synthval.plan import paths
from synthval.plan.stage import Stage


class Metrics(Stage):
    def outputs(self, t: str) -> list[str]:
        """The features of the quality metrics and of copy detection, each set's quality table and curves,
        and its copies table."""
        study = self.study
        files = [paths.features_file(t, d) for d in ["train", *study.generators]]
        files += [study.copy_features(t, d) for d in ["train", "test", *study.generators]]
        for g in study.generators:
            files += [paths.quality_table(t, g), paths.quality_curves(t, g), paths.copies_table(t, g)]
        return files

    def _images(self, wildcards) -> str:
        """The images of ``dataset``: a real split (train, test) or a synthetic set."""
        trainset, dataset = wildcards.trainset, wildcards.dataset
        if dataset in ("train", "test"):
            return paths.data_manifest(trainset, dataset)
        return paths.synthetic_manifest(trainset, dataset)

    def feature_inputs(self, wildcards) -> dict[str, str]:
        """The images and the extractor's weights (the reference classifier, or the file the config names)."""
        quality = self.config["quality"]
        reference = quality["extractor"] == "reference"
        extractor = paths.reference_weights(wildcards.trainset) if reference else quality["weights"]
        return {"images": self._images(wildcards), "extractor": extractor}

    def extractor_settings(self, wildcards) -> dict:
        return extractor_settings(self.config)

    def settings(self, wildcards) -> dict:
        """The quality metrics' settings."""
        return canonical(self.config["quality"])

    def quality_seed(self, wildcards) -> int:
        return self.seed("quality", wildcards.trainset, wildcards.generator)

    def sscd_inputs(self, wildcards) -> dict[str, str]:
        """The images and SSCD's weights."""
        return {"images": self._images(wildcards), "extractor": self.config["privacy"]["copy_detection"]["weights"]}

    def sscd_settings(self, wildcards) -> dict:
        return {"extractor": "sscd", "weights": self.config["privacy"]["copy_detection"]["weights"]}

    def copy_detection_inputs(self, wildcards) -> dict[str, str]:
        """A synthetic set's, the train split's and the test split's (the unseen reference) features and
        images."""
        trainset, generator, features = wildcards.trainset, wildcards.generator, self.study.copy_features
        return {
            "train": features(trainset, "train"),
            "held_out": features(trainset, "test"),
            "synthetic": features(trainset, generator),
            "train_images": paths.data_manifest(trainset, "train"),
            "held_out_images": paths.data_manifest(trainset, "test"),
            "synthetic_images": paths.synthetic_manifest(trainset, generator),
        }
