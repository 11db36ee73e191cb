"""The training stage (workflow/rules/training.smk): training with generated data (Wang et al. 2024; Sehwag et
al. 2022; Yuan et al. 2024), the study's synthetic training images in shards of one training-set size each,
one job per run and seed."""

from __future__ import annotations

from synthval import recipes, zoo
from synthval.config import canonical
from synthval.plan import paths
from synthval.plan.stage import Stage


class Training(Stage):
    @property
    def shards_per_x(self) -> int:
        """Shards of synthetic training images per 1x the training set (the config's ``training.shards_per_x``)."""
        return self.config["training"]["shards_per_x"]

    def outputs(self, t: str) -> list[str]:
        """The study's synthetic training pools, every run's files for every seed, and its tables and
        figures (none without runs)."""
        study = self.study
        files = [paths.train_pool_shard(t, g, s) for g, shards in study.train_pool_shards.items() for s in shards]
        files += [paths.train_pool_manifest(t, r.generator, r.scale) for r in study.runs.values() if r.uses_synthetic]
        files += [paths.train_pool_manifest(t, g, 1) for g in study.study_generators]
        for r in study.runs:
            for s in study.training_seeds:
                files += [paths.recipe_file(t, r, s, name) for name in paths.RECIPE_FILES]
        if study.runs:
            files += [paths.training_table(t, n) for n in paths.TRAINING_TABLES]
            files += [paths.result_plot(t, n) for n in paths.TRAINING_PLOTS]
        return files

    def pool_shards(self, wildcards) -> list[str]:
        """The shards of a generator's synthetic training images that make its first ``scale``
        train-size multiples (``training.shards_per_x`` shards each)."""
        per_x = self.config["training"]["shards_per_x"]
        return [
            paths.train_pool_shard(wildcards.trainset, wildcards.generator, paths.shard_name(i))
            for i in range(int(wildcards.scale) * per_x)
        ]

    def pool_per_class(self, wildcards) -> int:
        """Synthetic images per class of a pool shard; where the class count is not known yet (an image
        folder that is not there, in a dry run: a real run stops before any job) the plan counts one."""
        return recipes.pool_per_class(self.config, wildcards.trainset, len(self.study.classes) or 1)

    def pool_shard_index(self, wildcards) -> int:
        return recipes.pool_shard_index(self.config, int(wildcards.shard))

    def pool_shard_seed(self, wildcards) -> int:
        """A synthetic training shard's seed: its own stream, apart from the validation shards'."""
        return self.seed("synthesize_train", wildcards.trainset, wildcards.generator, wildcards.shard)

    def pool_prior_seed(self, wildcards) -> int:
        """The synthetic training set's latent-prior walk: its own, apart from the validation set's."""
        return self.seed("latent prior train", wildcards.trainset, wildcards.generator)

    def pool_key_prefix(self, wildcards) -> str:
        return paths.shard_key_prefix(wildcards.trainset, wildcards.generator, wildcards.shard, train=True)

    def gap_sets(self, trainset: str, run: str) -> dict[str, tuple[str, str]]:
        """Content-gap evaluation sets of a study run (synthval.recipes.gap_sources): {input name:
        (manifest, eval-set name)}."""
        sets = {}
        for source in recipes.gap_sources(self.study.runs[run], self.config):
            if source == recipes.REAL_TRAIN:
                sets["gap_real"] = (paths.data_manifest(trainset, "train"), source)
            else:
                sets[f"gap_{source}"] = (paths.train_pool_manifest(trainset, source, 1), source)
        return sets

    def inputs(self, wildcards) -> dict[str, str]:
        """What a study run trains on, its guide, the test split, and its content-gap sets."""
        trainset, r = wildcards.trainset, self.study.runs[wildcards.run]
        inputs = {"test": paths.data_manifest(trainset, "test")}
        if r.uses_real:
            inputs["real"] = paths.data_manifest(trainset, "train")
        if r.uses_synthetic:
            inputs["synthetic"] = paths.train_pool_manifest(trainset, r.generator, r.scale)
        if r.pretrained_guidance:
            pg = self.config["training"]["pretrained_guidance"]
            inputs["guide"] = paths.reference_weights(trainset) if pg["guide"] == "reference" else pg["weights"]
        gaps = self.gap_sets(trainset, wildcards.run)
        return inputs | {key: manifest for key, (manifest, _) in gaps.items()}

    def gap_names(self, wildcards) -> dict[str, str]:
        """Content-gap input -> eval-set name of a run (train_recipe's params)."""
        sets = self.gap_sets(wildcards.trainset, wildcards.run)
        return canonical({key: name for key, (_, name) in sets.items()})

    def run(self, wildcards) -> dict:
        return self.study.runs[wildcards.run].__dict__

    def runs(self, wildcards) -> dict[str, dict]:
        """Every run of the study and its settings (summarize_training's params)."""
        return canonical({name: run.__dict__ for name, run in self.study.runs.items()})

    def run_ranks(self, wildcards) -> int:
        """Ranks of one run's training (``ranks.train_recipe``; the LiRA models' too): 1 for the runs
        that train in one process (Pretrained or Real Guidance, PGD training)."""
        run = self.study.runs[wildcards.run]
        alone = run.pretrained_guidance or run.real_guidance or self.config["training"]["robust"]["enabled"]
        return 1 if alone else self.ranks("train_recipe")

    def run_threads(self, wildcards) -> int:
        """Cores of one run's job: its ranks and their loader workers (Stage.training_threads)."""
        return self.training_threads(self.run_ranks(wildcards))

    def run_gpus(self, wildcards) -> int:
        """GPUs of one run's job: the config's ``gpus`` for each of its ranks."""
        return self.config["gpus"] * self.run_ranks(wildcards)

    def spec(self, wildcards) -> dict:
        """The study's network, trained as the zoo trains it, for the run's epochs."""
        epochs = self.study.runs[wildcards.run].epochs
        architecture = self.config["training"]["architecture"]
        return zoo.training_spec(self.config["zoo"], architecture, self.config["seed"], epochs=epochs)

    def run_seed(self, wildcards) -> int:
        return recipes.run_seed(self.config["seed"], wildcards.trainset, int(wildcards.seed))

    def replicate(self, wildcards) -> int:
        return int(wildcards.seed)

    def workdir(self, wildcards) -> str:
        return paths.recipe_resume_dir(wildcards.trainset, wildcards.run, wildcards.seed)

    def predictions(self, wildcards) -> list[str]:
        return [
            paths.recipe_file(wildcards.trainset, r, s, "predictions.parquet")
            for r in self.study.runs
            for s in self.study.training_seeds
        ]

    def guidance(self, key: str) -> dict:
        """``training.pretrained_guidance``, ``real_guidance`` or ``robust``, with sorted keys."""
        return canonical(self.config["training"][key])
