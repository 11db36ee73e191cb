"""The generators stage (workflow/rules/generators.smk): what training a generator reads, how its
samples are drawn into shards, imported samples, and the WebDataset copies of the shards."""

from __future__ import annotations

from synthval.config import generator_spec, generator_synthesis_settings
from synthval.families import checkpoints_scored, family_of
from synthval.plan import paths
from synthval.plan.stage import Stage


class Generators(Stage):
    def per_class(self, wildcards) -> int:
        """Synthetic images per class of a validation set (the config's ``synthesis.per_class``)."""
        return self.config["synthesis"]["per_class"]

    @property
    def synthesis_batch_size(self) -> int:
        return self.config["synthesis"]["batch_size"]

    def outputs(self, t: str) -> list[str]:
        """Each generator (per class, where it is one a class), its history plot, sample grid and
        synthetic set: manifest, shards and their WebDataset copies."""
        study = self.study
        files = [paths.class_generator_weights(t, g, c) for g in study.per_class for c in study.classes]
        for g in study.generators:
            files += [paths.synthetic_manifest(t, g), paths.sample_grid(t, g)]
            if g not in study.imported:
                files += [paths.generator_weights(t, g), paths.generator_history_plot(t, g)]
            files += [paths.synthetic_shard(t, g, s) for s in study.shards]
            if study.webdataset:
                files += [paths.webdataset_manifest(t, g), *(paths.webdataset_shard(t, g, s) for s in study.shards)]
        return files

    def section(self, wildcards) -> dict:
        return self.config["generators"][wildcards.generator]

    def train_inputs(self, wildcards) -> dict[str, str]:
        """The train split; the reference classifier when checkpoints are scored with it; the data
        summary when prompts name the classes."""
        section, trainset = self.section(wildcards), wildcards.trainset
        inputs = {"train": paths.data_manifest(trainset, "train")}
        if checkpoints_scored(section):
            inputs["reference"] = paths.reference_weights(trainset)
        if family_of(section).names_classes:  # the prompts name the classes of the summary
            inputs["summary"] = paths.data_summary(trainset)
        return inputs

    def train_spec(self, wildcards) -> dict:
        """How the generator is trained (:func:`synthval.config.generator_spec`): its family, conditioning,
        architecture and training settings, not the synthesis-only keys."""
        return generator_spec(self.section(wildcards))

    def train_seed(self, wildcards) -> int:
        member = [wildcards.cls] if "cls" in wildcards.keys() else []
        return self.seed("train_generator", wildcards.trainset, wildcards.generator, *member)

    def resume(self, wildcards) -> str:
        cls = wildcards.cls if "cls" in wildcards.keys() else None
        return paths.generator_resume_state(wildcards.trainset, wildcards.generator, cls)

    def class_index(self, wildcards) -> int:
        return int(wildcards.cls)

    def class_generators(self, wildcards) -> list[str]:
        """The one-class generators a per_class generator is assembled from."""
        return [paths.class_generator_weights(wildcards.trainset, wildcards.generator, c) for c in self.study.classes]

    def synthesis_inputs(self, wildcards) -> dict[str, str]:
        """The generator; the data summary (the class names); the reference classifier when it labels
        the samples; the train split when the samples start from its images."""
        section, trainset = self.section(wildcards), wildcards.trainset
        inputs = {
            "generator": paths.generator_weights(trainset, wildcards.generator),
            "summary": paths.data_summary(trainset),
        }
        if section["conditioning"] == "pseudo_label":
            inputs["reference"] = paths.reference_weights(trainset)
        if family_of(section).samples_from_real_images(section):  # samples start from real training images
            inputs["train"] = paths.data_manifest(trainset, "train")
        return inputs

    def synthesis_settings(self, wildcards) -> dict:
        """What sampling a shard reads of its generator's section (its weights are an input)."""
        return generator_synthesis_settings(self.section(wildcards))

    def shard_index(self, wildcards) -> int:
        return int(wildcards.shard)

    def shard_seed(self, wildcards) -> int:
        return self.seed("synthesize", wildcards.trainset, wildcards.generator, wildcards.shard)

    def key_prefix(self, wildcards) -> str:
        return paths.shard_key_prefix(wildcards.trainset, wildcards.generator, wildcards.shard)

    def prior_seed(self, wildcards) -> int:
        """The seed of a synthetic set's latent-prior walk, which its shards share (each takes its stretch)."""
        return self.seed("latent prior", wildcards.trainset, wildcards.generator)

    def imported_source(self, wildcards) -> str:
        """The file or folder of imported samples."""
        return self.section(wildcards)["path"]

    def shards(self, wildcards) -> list[str]:
        return [paths.synthetic_shard(wildcards.trainset, wildcards.generator, s) for s in self.study.shards]

    def shard(self, wildcards) -> str:
        return paths.synthetic_shard(wildcards.trainset, wildcards.generator, wildcards.shard)

    def webdataset_shards(self, wildcards) -> list[str]:
        return [paths.webdataset_shard(wildcards.trainset, wildcards.generator, s) for s in self.study.shards]
