"""Wildcard constraints and the rules' input/params functions, thin wrappers over the library (result paths:
synthval.layout; the zoo: synthval.zoo; the study: synthval.recipes). No rules here."""

from pathlib import Path

from snakemake.logging import logger

from synthval import layout
from synthval.config import (
    augmented_settings,
    canonical,
    data_settings,
    extractor_settings,
    generator_synthesis_settings,
    generator_training_settings,
)
from synthval.layout import *  # noqa: F403  (every result path, by name, for the rules)
from synthval.layout import Study
from synthval.layout import all_outputs as layout_all_outputs
from synthval.layout import report_inputs
from synthval.io import record_path
from synthval.provenance import code_digest
from synthval.recipes import run_seed
from synthval.recipes import pool_per_class as recipe_pool_per_class
from synthval.recipes import pool_shard_index as recipe_pool_shard_index
from synthval.seeding import derive_seed
from synthval import recipes, zoo
from synthval.zoo import (
    CONFIGURATION_PATTERN,
    MODEL_PATTERN,
    configuration_pattern,
    groups,
    member_spec,
    one_of,
    parse_model,
    training_spec,
)

# what the config implies for the files (synthval.layout): names the rules use
STUDY = Study.from_config(config)
TRAINSETS = STUDY.trainsets
GENERATORS = STUDY.generators
# per_class generators are one job per class, then assembled; the others are one job each
PER_CLASS = STUDY.per_class
WHOLE = STUDY.whole
# sampled sets, and sets of samples made elsewhere (family imported): sharded, never sampled
SAMPLED = STUDY.sampled
IMPORTED_SETS = STUDY.imported
CLASSES = STUDY.classes
# every zoo member, and those trained on the whole train split (the ones synthetic data must rank)
ALL_MODELS = STUDY.all_models
MODELS = STUDY.models
# classifiers trained elsewhere (zoo.imported): imported, evaluated and ranked, never trained
IMPORTED_MODELS = STUDY.imported_models
IMPORTED_CONFIGURATIONS = [parse_model(m).configuration for m in IMPORTED_MODELS]
# what tells a configuration's members apart (-s<seed>, -s<seed>-fit): one job trains them all
SUFFIXES = STUDY.suffixes
SHARDS = STUDY.shards
# the augmented training split as a validation set (Li et al. 2020), an eval set beside the synthetic ones
AUGMENTED = STUDY.augmented
AUGMENTED_SPLITS = STUDY.augmented_splits
# the sets that rank and select models: every synthetic set, and the augmented training split
SELECTION_SETS = STUDY.selection_sets
# the training study (seeds 001-003): its runs, each trained once per seed, and their generators
TRAINING = config["training"]
RUNS = STUDY.runs
STUDY_GENERATORS = STUDY.study_generators
# the saved-epoch tags of each group of variants training equally long
EPOCH_GROUPS = STUDY.epoch_groups


wildcard_constraints:
    trainset="|".join(TRAINSETS),
    generator="|".join(GENERATORS),
    model=MODEL_PATTERN,
    configuration=CONFIGURATION_PATTERN,
    shard=r"[0-9]{5}",
    split="|".join(SPLITS),
    cls=r"[0-9]{3}",
    dataset="|".join(["train", "test", *GENERATORS]),


def generator_resume(wildcards):
    cls = wildcards.cls if "cls" in wildcards.keys() else None
    return generator_resume_state(wildcards.trainset, wildcards.generator, cls)


def reference_workdir(wildcards):
    return reference_resume_dir(wildcards.trainset)


def classifier_workdir(wildcards):
    return classifier_resume_dir(wildcards.trainset, wildcards.configuration)


def recipe_workdir(wildcards):
    return recipe_resume_dir(wildcards.trainset, wildcards.run, wildcards.seed)


# --- input and params helpers (functions of wildcards) ---


SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"


def code(script):
    """A params entry that changes when library code ``script`` runs changes, so such an edit reruns
    exactly the jobs that run it (Snakemake itself only tracks the script; see synthval.provenance).
    A function, so that a job step on a cluster digests its own script only.
    """

    def digest(wildcards):
        return code_digest(SCRIPTS / script)

    return digest


def get_data_settings(wildcards):
    return data_settings(config, wildcards.trainset)


def reference_spec(wildcards):
    """The reference classifier: its architecture, trained as the zoo trains it, for its own epochs."""
    ref = config["reference"]
    return training_spec(
        config["zoo"], ref["architecture"], config["seed"], epochs=ref["epochs"]
    )


def train_split(wildcards):
    return data_manifest(wildcards.trainset, "train")


def generator_inputs(wildcards):
    return layout.generator_inputs(STUDY, wildcards.trainset, wildcards.generator)


def synthesis_inputs(wildcards):
    return layout.synthesis_inputs(STUDY, wildcards.trainset, wildcards.generator)


def imported_weights(wildcards):
    """The weights file of a classifier trained elsewhere."""
    return config["zoo"]["imported"][parse_model(wildcards.model).arch]["weights"]


def imported_entry(wildcards):
    return canonical(config["zoo"]["imported"][parse_model(wildcards.model).arch])


def imported_source(wildcards):
    """The file or folder of imported samples."""
    return config["generators"][wildcards.generator]["path"]


def class_generators_of(wildcards):
    return [
        class_generator_weights(wildcards.trainset, wildcards.generator, c)
        for c in CLASSES
    ]


def shards_of(wildcards):
    return [synthetic_shard(wildcards.trainset, wildcards.generator, s) for s in SHARDS]


def parquet_shard_of(wildcards):
    return synthetic_shard(wildcards.trainset, wildcards.generator, wildcards.shard)


def records_of(paths_of):
    """The producers' records (``<shard>.sha256``, synthval.io.write_record) of the shards ``paths_of``
    gives: the jobs that index or convert shards check each one against its record."""

    def records(wildcards):
        paths = paths_of(wildcards)
        return (
            [record_path(p) for p in paths]
            if isinstance(paths, list)
            else record_path(paths)
        )

    return records


def webdataset_shards_of(wildcards):
    return [
        webdataset_shard(wildcards.trainset, wildcards.generator, s) for s in SHARDS
    ]


def generator_settings(wildcards):
    """What training a generator reads of its section (not the synthesis-only keys)."""
    return generator_training_settings(config["generators"][wildcards.generator])


def synthesis_settings(wildcards):
    """What sampling a shard reads of its generator's section (its weights are an input)."""
    return generator_synthesis_settings(config["generators"][wildcards.generator])


def job_seed(*identity):
    """The seed of one job's randomness: the config's seed and the identity of what it seeds."""
    return derive_seed(config["seed"], *identity)


def generator_seed(wildcards):
    member = [wildcards.cls] if "cls" in wildcards.keys() else []
    return job_seed("train_generator", wildcards.trainset, wildcards.generator, *member)


def shard_seed(wildcards):
    return job_seed(
        "synthesize", wildcards.trainset, wildcards.generator, wildcards.shard
    )


def train_shard_seed(wildcards):
    """A synthetic training shard's seed: its own stream, apart from the validation shards'."""
    return job_seed(
        "synthesize_train", wildcards.trainset, wildcards.generator, wildcards.shard
    )


def get_shard_key_prefix(wildcards):
    return shard_key_prefix(wildcards.trainset, wildcards.generator, wildcards.shard)


def train_shard_key_prefix(wildcards):
    return shard_key_prefix(
        wildcards.trainset, wildcards.generator, wildcards.shard, train=True
    )


def class_index(wildcards):
    return int(wildcards.cls)


def get_augmented_settings(wildcards):
    return augmented_settings(config)


def augmented_seed(wildcards):
    return job_seed("augmented", wildcards.trainset, wildcards.split)


def shard_index(wildcards):
    return int(wildcards.shard)


def members_of(wildcards):
    """The members of a configuration, in the order of its jobs' outputs."""
    return STUDY.configuration_members(wildcards.configuration)


def configuration_members(wildcards):
    """Name, training split and seed of each member of a configuration, in the order of its outputs."""
    return zoo.member_entries(config["seed"], wildcards.trainset, members_of(wildcards))


def configuration_spec(wildcards):
    """Architecture, its keywords and training settings of a configuration's members (only what they
    depend on: the same for each seed and split)."""
    return member_spec(config["zoo"], members_of(wildcards)[0], config["seed"])


def reference_members(wildcards):
    return zoo.reference_members(config, wildcards.trainset)


def get_run_seed(wildcards):
    return run_seed(config["seed"], wildcards.trainset, int(wildcards.seed))


def get_groups(wildcards):
    """Architecture -> group of the zoo (what the selection figures are split by)."""
    return groups(config["zoo"])


def configuration_splits(wildcards):
    """The real splits a configuration's members train on: train, and the standard protocol's fit."""
    return {
        split: data_manifest(wildcards.trainset, split)
        for split in config["zoo"]["train_splits"]
    }


def training_rule_name(tags):
    """train_classifier, or train_classifier_<N>ep for variants of another length."""
    return zoo.training_rule_name(config["zoo"], map(int, tags))


def configuration_weights(wildcards):
    return [
        classifier_weights(wildcards.trainset, m.name, e)
        for m in members_of(wildcards)
        for e in STUDY.epoch_tags(m.name)
    ]


def configuration_eval_inputs(wildcards):
    """Member -> its evaluation sets (synthval.layout.eval_sets), for every member of a configuration."""
    return {
        m.name: layout.eval_sets(STUDY, wildcards.trainset, m)
        for m in members_of(wildcards)
    }


def member_eval_sets(wildcards):
    """Member -> {evaluation set: predict's input holding it} (predict's params)."""
    return {
        member: {name: key for name, (key, _) in sets.items()}
        for member, sets in configuration_eval_inputs(wildcards).items()
    }


def configuration_eval_sets(wildcards):
    """Every evaluation set of a configuration's members, by predict's input name."""
    return {
        key: manifest
        for sets in configuration_eval_inputs(wildcards).values()
        for key, manifest in sets.values()
    }


def feature_inputs(wildcards):
    return layout.feature_inputs(STUDY, wildcards.trainset, wildcards.dataset)


def get_extractor_settings(wildcards):
    return extractor_settings(config)


def metric_settings(wildcards):
    return canonical(config["quality"])


def quality_seed(wildcards):
    return job_seed("quality", wildcards.trainset, wildcards.generator)


def selection_inputs(wildcards):
    """Predictions of every member (the fit members are the standard protocol's and calibration's),
    and the quality tables (their total variation)."""
    return {
        "predictions": all_predictions_of(wildcards),
        "quality": [quality_table(wildcards.trainset, g) for g in GENERATORS],
    }


def all_predictions_of(wildcards):
    """Every member's predictions: the train members rank on every selection set, the fit members on
    val (the real baseline)."""
    return [predictions(wildcards.trainset, m) for m in ALL_MODELS]


def get_selection_settings(wildcards):
    return canonical(config["selection"])


def get_worth_draws(wildcards):
    return config["selection"]["worth_draws"]


def get_selection_seed(wildcards):
    return job_seed("selection", wildcards.trainset)


def pool_shards_of(wildcards):
    return train_pool_shards(
        STUDY, wildcards.trainset, wildcards.generator, int(wildcards.scale)
    )


def pool_per_class(wildcards):
    return recipe_pool_per_class(config, wildcards.trainset, len(CLASSES))


def pool_shard_index(wildcards):
    return recipe_pool_shard_index(config, int(wildcards.shard))


def run_of(wildcards):
    return RUNS[wildcards.run]


def recipe_inputs(wildcards):
    return layout.recipe_inputs(STUDY, wildcards.trainset, wildcards.run)


def gap_set_names(wildcards):
    """Content-gap input -> eval-set name of a run (train_recipe's params)."""
    sets = layout.gap_sets(STUDY, wildcards.trainset, wildcards.run)
    return canonical({key: name for key, (_, name) in sets.items()})


def run_settings(wildcards):
    return run_of(wildcards).__dict__


def study_runs(wildcards):
    """Every run of the study and its settings (summarize_training's params)."""
    return canonical({name: run.__dict__ for name, run in RUNS.items()})


def copies_tables_of(wildcards):
    return [copies_table(wildcards.trainset, g) for g in GENERATORS]


def synthetic_manifests_of(wildcards):
    return [synthetic_manifest(wildcards.trainset, g) for g in GENERATORS]


def quality_curves_of(wildcards):
    return [quality_curves(wildcards.trainset, g) for g in GENERATORS]


def recipe_spec(wildcards):
    """The study's network, trained as the zoo trains it, for the run's epochs."""
    return training_spec(
        config["zoo"],
        TRAINING["architecture"],
        config["seed"],
        epochs=run_of(wildcards).epochs,
    )


def recipe_predictions_of(wildcards):
    return [
        recipe_file(wildcards.trainset, r, s, "predictions.parquet")
        for r in RUNS
        for s in TRAINING["seeds"]
    ]


def report_input_files():
    """Every file the report reads (synthval.layout.report_inputs)."""
    return report_inputs(STUDY).files()


def grow_with_attempt(base):
    """A resource that doubles, triples... with each retry of a failed job."""

    def grow(wildcards, attempt):
        return base * attempt

    return grow


def all_outputs():
    """Every artifact (synthval.layout.all_outputs): a deleted file is remade with its dependents."""
    return layout_all_outputs(STUDY)


def summarize_failures(log):
    """The workflow's onerror hook: one line per failed job, with what its own log says went wrong
    (synthval.runtime.failure_summary), so the terminal shows the cause beside Snakemake's error blocks.
    """
    from synthval.runtime import failure_summary

    try:
        failures = failure_summary(log)
    except Exception as err:  # noqa: BLE001 - a hook must not replace the run's error
        logger.warning(f"Could not summarise the failures: {err}")
        return
    for failure in failures:
        logger.error(f"Failed: {failure}")


def leave_partial_report(log):
    """The workflow's onsuccess/onerror hook (synthval.report.build.leave_partial_report), then the
    answer table of what exists (synthval.report.build.answer_of); it never masks the run's own outcome.
    """
    from synthval.report.build import answer_of
    from synthval.report.build import leave_partial_report as leave

    try:
        if written := leave(config):
            logger.info(f"Partial report of what exists: {written}")
        if answer := answer_of(config):
            logger.info(answer)
    except Exception as err:  # noqa: BLE001 - a hook must not replace the run's error
        logger.warning(f"Could not write the partial report or the answer: {err}")


# --- privacy (LiRA) and robustness (distribution shift), seed 003 §4.4-4.5 ---
LIRA_RUNS = STUDY.lira_runs
LIRA_HALVES = STUDY.lira_halves
LIRA_GENERATORS = STUDY.lira_generators
SHIFTS = STUDY.shifts
CORRUPTIONS = STUDY.corruptions


def lira_generator_inputs(wildcards):
    return layout.lira_generator_inputs(
        STUDY, wildcards.trainset, wildcards.half, wildcards.generator
    )


def lira_generator_section(wildcards):
    """The generator's section with privacy.lira.generator_settings over it, checkpoint scoring off."""
    section = config["generators"][wildcards.generator]
    overrides = config["privacy"]["lira"]["generator_settings"]
    return {**section, **overrides, "eval_every": 0}


def lira_generator_settings(wildcards):
    return generator_training_settings(lira_generator_section(wildcards))


def lira_synthesis_settings(wildcards):
    return generator_synthesis_settings(lira_generator_section(wildcards))


def lira_generator_seed(wildcards):
    return job_seed(
        "lira_generator", wildcards.trainset, wildcards.generator, wildcards.half
    )


def lira_generator_resume(wildcards):
    return lira_generator_resume_state(
        wildcards.trainset, wildcards.half, wildcards.generator
    )


def lira_synthesis_inputs(wildcards):
    return layout.lira_synthesis_inputs(
        STUDY, wildcards.trainset, wildcards.half, wildcards.generator
    )


def lira_per_class(wildcards):
    return recipes.lira_per_class(config, wildcards.trainset, len(CLASSES))


def lira_shard_seed(wildcards):
    return job_seed(
        "synthesize_lira", wildcards.trainset, wildcards.generator, wildcards.half
    )


def lira_key_prefix(wildcards):
    return f"{wildcards.trainset}-{wildcards.generator}-lira{wildcards.half}"


def lira_shards_of(wildcards):
    return [
        lira_synthetic_shard(wildcards.trainset, wildcards.half, wildcards.generator)
    ]


def lira_recipe_inputs(wildcards):
    return layout.lira_recipe_inputs(
        STUDY, wildcards.trainset, wildcards.run, wildcards.half
    )


def lira_model_seed(wildcards):
    return recipes.lira_seed(config["seed"], wildcards.trainset, int(wildcards.half))


def lira_workdir(wildcards):
    return lira_resume_dir(wildcards.trainset, wildcards.run, wildcards.half)


def lira_predictions_of(wildcards):
    """Every LiRA model's predictions, run-major (the order lira reads them in)."""
    return [
        lira_file(wildcards.trainset, r, h, "predictions.parquet")
        for r in LIRA_RUNS
        for h in LIRA_HALVES
    ]


def shift_inputs(wildcards):
    return layout.shift_inputs(STUDY, wildcards.trainset)


def shift_split_inputs(wildcards):
    """The test split; for a user's shifted set, its source and the data summary (class names)."""
    inputs = {"test": data_manifest(wildcards.trainset, "test")}
    if wildcards.shift not in CORRUPTIONS:
        inputs["source"] = config["robustness"]["sets"][wildcards.shift]
        inputs["summary"] = data_summary(wildcards.trainset)
    return inputs


def shift_seed(wildcards):
    return job_seed("shift", wildcards.trainset, wildcards.shift)


def copy_detection_inputs(wildcards):
    return layout.copy_detection_inputs(STUDY, wildcards.trainset, wildcards.generator)


def sscd_feature_inputs(wildcards):
    return layout.sscd_feature_inputs(STUDY, wildcards.trainset, wildcards.dataset)


def sscd_settings(wildcards):
    return {
        "extractor": "sscd",
        "weights": config["privacy"]["copy_detection"]["weights"],
    }
