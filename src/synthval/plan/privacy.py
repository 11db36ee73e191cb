"""The privacy stage (workflow/rules/privacy.smk): LiRA (Yuan et al. 2024 §4.5, App. G.4; Carlini et al. 2022).
Model k of an attacked run trains on half k of the pool (the train split), its synthetic data from a
generator trained on half k only."""

from __future__ import annotations

from synthval import recipes
from synthval.families import family_of
from synthval.plan import paths
from synthval.plan.generators import Generators


class Privacy(Generators):
    """A per-half generator is trained and sampled as a generator is (:class:`Generators`), with its
    pool half for the train split and ``privacy.lira.generator_settings`` over its section."""

    def outputs(self, t: str) -> list[str]:
        """LiRA's membership table, summaries and figure, and per half: its pool, generators, synthetic
        sets and attacked models (none without LiRA runs)."""
        study = self.study
        if not study.lira_runs:
            return []
        files = [paths.lira_membership(t), *(paths.lira_table(t, n) for n in paths.LIRA_TABLES)]
        files.append(paths.result_plot(t, paths.LIRA_PLOT))
        for h in study.lira_halves:
            files.append(paths.lira_half_manifest(t, h))
            for g in study.lira_generators:
                files += [paths.lira_generator_weights(t, h, g), paths.lira_synthetic_shard(t, h, g)]
                files.append(paths.lira_synthetic_manifest(t, h, g))
            files += [paths.lira_file(t, r, h, name) for r in study.lira_runs for name in paths.RECIPE_FILES]
        return files

    def section(self, wildcards) -> dict:
        """The generator's section with privacy.lira.generator_settings over it, checkpoint scoring off."""
        section = self.config["generators"][wildcards.generator]
        return {**section, **self.config["privacy"]["lira"]["generator_settings"], "eval_every": 0}

    def generator_inputs(self, wildcards) -> dict[str, str]:
        """A per-half generator's inputs: a generator's with the pool half for the train split, and no
        reference (its checkpoints are not scored: the reference saw the whole pool)."""
        inputs = Generators.train_inputs(self, wildcards)
        return inputs | {"train": paths.lira_half_manifest(wildcards.trainset, wildcards.half)}

    def mirror(self, wildcards) -> bool:
        """Whether a LiRA model also scores every pool image mirrored (privacy.lira.mirror)."""
        return bool(self.config["privacy"]["lira"]["mirror"])

    def generator_seed(self, wildcards) -> int:
        return self.seed("lira_generator", wildcards.trainset, wildcards.generator, wildcards.half)

    def generator_resume(self, wildcards) -> str:
        return paths.lira_generator_resume_state(wildcards.trainset, wildcards.half, wildcards.generator)

    def synthesis_inputs(self, wildcards) -> dict[str, str]:
        """A per-half generator, the data summary, and its pool half when samples start from real images."""
        trainset, half = wildcards.trainset, wildcards.half
        inputs = {
            "generator": paths.lira_generator_weights(trainset, half, wildcards.generator),
            "summary": paths.data_summary(trainset),
        }
        section = self.section(wildcards)
        if family_of(section).samples_from_real_images(section):
            inputs["train"] = paths.lira_half_manifest(trainset, half)
        return inputs

    def per_class(self, wildcards) -> int:
        classes = len(self.study.classes) or 1  # unknown in a dry run without the data (see pool_per_class)
        return recipes.lira_per_class(self.config, wildcards.trainset, classes)

    def shard_seed(self, wildcards) -> int:
        return self.seed("synthesize_lira", wildcards.trainset, wildcards.generator, wildcards.half)

    def key_prefix(self, wildcards) -> str:
        return f"{wildcards.trainset}-{wildcards.generator}-lira{wildcards.half}"

    def shards(self, wildcards) -> list[str]:
        return [paths.lira_synthetic_shard(wildcards.trainset, wildcards.half, wildcards.generator)]

    def recipe_inputs(self, wildcards) -> dict[str, str]:
        """What LiRA model ``half`` of a run trains on (the pool half, the half's synthetic set), the test
        split (its accuracy, beside its leakage) and the pool it is queried on (the train split)."""
        trainset, half, r = wildcards.trainset, wildcards.half, self.study.runs[wildcards.run]
        inputs = {"test": paths.data_manifest(trainset, "test"), "pool": paths.data_manifest(trainset, "train")}
        if r.uses_real:
            inputs["real"] = paths.lira_half_manifest(trainset, half)
        if r.uses_synthetic:
            inputs["synthetic"] = paths.lira_synthetic_manifest(trainset, half, r.generator)
        return inputs

    def model_seed(self, wildcards) -> int:
        return recipes.lira_seed(self.config["seed"], wildcards.trainset, int(wildcards.half))

    def replicate(self, wildcards) -> int:
        return int(wildcards.half)

    def workdir(self, wildcards) -> str:
        return paths.lira_resume_dir(wildcards.trainset, wildcards.run, wildcards.half)

    def predictions(self, wildcards) -> list[str]:
        """Every LiRA model's predictions, run-major (the order lira reads them in)."""
        return [
            paths.lira_file(wildcards.trainset, r, h, "predictions.parquet")
            for r in self.study.lira_runs
            for h in self.study.lira_halves
        ]
