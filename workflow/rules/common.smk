"""Wildcard constraints and the rules' input/params functions, thin wrappers over the library (result paths:
synthval.layout; the zoo: synthval.zoo; the study: synthval.recipes). No rules here."""

import re
from pathlib import Path

from snakemake.logging import logger

from synthval.config import generator_synthesis_settings, generator_training_settings
from synthval.layout import *  # noqa: F403  (every result path, by name, for the rules)
from synthval.layout import Study
from synthval.layout import all_outputs as layout_all_outputs
from synthval.layout import report_inputs
from synthval.provenance import code_digest
from synthval.recipes import REAL_TRAIN, gap_sources, run_seed
from synthval.recipes import pool_per_class as recipe_pool_per_class
from synthval.recipes import pool_shard_index as recipe_pool_shard_index
from synthval.seeding import derive_seed
from synthval.zoo import (
    CONFIGURATION_PATTERN,
    MODEL_PATTERN,
    groups,
    member_seed,
    member_spec,
    parse_model,
    reference_seed,
    training_spec,
)

# what the config implies for the files (synthval.layout): names the rules use
STUDY = Study.from_config(config)
TRAINSETS = STUDY.trainsets
GENERATORS = STUDY.generators
# per_class generators are one job per class, then assembled; the others are one job each
PER_CLASS = STUDY.per_class
WHOLE = STUDY.whole
CLASSES = STUDY.classes
# every zoo member, and those trained on the whole train split (the ones synthetic data must rank)
ALL_MODELS = STUDY.all_models
MODELS = STUDY.models
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
    dataset="|".join(["train", *GENERATORS]),


def one_of(names):
    """A wildcard regex matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


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


def canonical(settings):
    """Settings with sorted keys: Snakemake compares params by their text, so the order in which a
    config file happens to list keys must not count as a change."""
    return dict(sorted(settings.items()))


def data_settings(wildcards):
    """What one training set's splits depend on (not the other sizes, so adding one reruns nothing)."""
    settings = {k: v for k, v in config["data"].items() if k != "train_sizes"}
    return canonical(
        {**settings, "size": config["data"]["train_sizes"][wildcards.trainset]}
    )


def reference_spec(wildcards):
    """The reference classifier: its architecture, trained as the zoo trains it, for its own epochs."""
    ref = config["reference"]
    return training_spec(
        config["zoo"], ref["architecture"], config["seed"], epochs=ref["epochs"]
    )


def train_split(wildcards):
    return data_manifest(wildcards.trainset, "train")


def generator_inputs(wildcards):
    """The train split, and the reference classifier when checkpoints are scored with it."""
    inputs = {"train": train_split(wildcards)}
    if config["generators"][wildcards.generator]["eval_every"] > 0:
        inputs["reference"] = reference_weights(wildcards.trainset)
    return inputs


def synthesis_inputs(wildcards):
    """The generator, and the reference classifier when it labels the samples."""
    inputs = {"generator": generator_weights(wildcards.trainset, wildcards.generator)}
    if config["generators"][wildcards.generator]["conditioning"] == "pseudo_label":
        inputs["reference"] = reference_weights(wildcards.trainset)
    return inputs


def class_generators_of(wildcards):
    return [
        class_generator_weights(wildcards.trainset, wildcards.generator, c)
        for c in CLASSES
    ]


def shards_of(wildcards):
    return [synthetic_shard(wildcards.trainset, wildcards.generator, s) for s in SHARDS]


def parquet_shard_of(wildcards):
    return synthetic_shard(wildcards.trainset, wildcards.generator, wildcards.shard)


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


def shard_key_prefix(wildcards):
    """Image keys of a validation shard: unique across training sets, generators and shards."""
    return f"{wildcards.trainset}-{wildcards.generator}-{wildcards.shard}"


def train_shard_key_prefix(wildcards):
    return f"{wildcards.trainset}-{wildcards.generator}-train-{wildcards.shard}"


def class_index(wildcards):
    return int(wildcards.cls)


def augmented_settings(wildcards):
    """What the augmented splits depend on (not whether they are enabled)."""
    settings = config["augmented_validation"]
    return canonical({k: v for k, v in settings.items() if k != "enabled"})


def augmented_seed(wildcards):
    return job_seed("augmented", wildcards.trainset, wildcards.split)


def shard_index(wildcards):
    return int(wildcards.shard)


def members_of(wildcards):
    """The members of a configuration, in the order of its jobs' outputs."""
    return [parse_model(wildcards.configuration + s) for s in SUFFIXES]


def configuration_members(wildcards):
    """Name, training split and seed of each member of a configuration, in the order of its outputs."""
    return [
        {
            "name": m.name,
            "split": m.split,
            "seed": member_seed(config["seed"], wildcards.trainset, m),
        }
        for m in members_of(wildcards)
    ]


def configuration_spec(wildcards):
    """Architecture, its keywords and training settings of a configuration's members (only what they
    depend on: the same for each seed and split)."""
    return member_spec(config["zoo"], members_of(wildcards)[0], config["seed"])


def reference_members(wildcards):
    """The reference classifier, as train_classifier.py takes members."""
    seed = reference_seed(
        config["seed"], wildcards.trainset, config["reference"]["seed"]
    )
    return [{"name": "reference", "split": "train", "seed": seed}]


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


def epoch_tags(model):
    """The saved epochs of a member, as they appear in its weights' file names."""
    return STUDY.epoch_tags(model)


def training_rule_name(tags):
    """train_classifier for the zoo-wide epochs, train_classifier_<N>ep for other lengths."""
    last = int(tags[-1])
    return (
        "train_classifier"
        if last == config["zoo"]["epochs"]
        else f"train_classifier_{last}ep"
    )


def configuration_pattern(variants):
    """The configuration-name regex restricted to ``variants``."""
    return CONFIGURATION_PATTERN.replace("-[A-Za-z0-9]+", f"-(?:{one_of(variants)})", 1)


def configuration_weights(wildcards):
    return [
        classifier_weights(wildcards.trainset, m.name, e)
        for m in members_of(wildcards)
        for e in epoch_tags(m.name)
    ]


def eval_inputs(trainset, split):
    """{evaluation set: (predict's input name, manifest)} of a member trained on ``split``: the real
    test split and every synthetic set of its training set, the val split for members trained on fit
    (the standard protocol's validation set), and augmented copies of the split it was trained on.
    """
    sets = {"test": ("test", data_manifest(trainset, "test"))}
    if split == "fit":
        sets["val"] = ("val", data_manifest(trainset, "val"))
    if AUGMENTED:
        sets["augmented"] = (f"augmented_{split}", augmented_manifest(trainset, split))
    return sets | {g: (g, synthetic_manifest(trainset, g)) for g in GENERATORS}


def configuration_eval_inputs(wildcards):
    """Member -> its eval_inputs, for every member of a configuration."""
    return {
        m.name: eval_inputs(wildcards.trainset, m.split) for m in members_of(wildcards)
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
    """The images (train split or a synthetic set) and the extractor's weights."""
    images = (
        train_split(wildcards)
        if wildcards.dataset == "train"
        else synthetic_manifest(wildcards.trainset, wildcards.dataset)
    )
    inputs = {"images": images}
    if config["quality"]["extractor"] == "reference":
        inputs["extractor"] = reference_weights(wildcards.trainset)
    else:
        inputs["extractor"] = config["quality"]["weights"]
    return inputs


EXTRACTOR_KEYS = ("extractor", "weights", "timm_model", "input_size")


def extractor_settings(wildcards):
    """What features depend on: the extractor, not the metrics' settings."""
    return canonical({k: config["quality"][k] for k in EXTRACTOR_KEYS})


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


def get_selection_repeats(wildcards):
    return config["selection"]["repeats"]


def get_selection_seed(wildcards):
    return job_seed("selection", wildcards.trainset)


def pool_shards_of(wildcards):
    count = int(wildcards.scale) * TRAINING["shards_per_x"]
    return [
        train_pool_shard(wildcards.trainset, wildcards.generator, shard_name(i))
        for i in range(count)
    ]


def pool_per_class(wildcards):
    return recipe_pool_per_class(config, wildcards.trainset, len(CLASSES))


def pool_shard_index(wildcards):
    return recipe_pool_shard_index(config, int(wildcards.shard))


def run_of(wildcards):
    return RUNS[wildcards.run]


def recipe_inputs(wildcards):
    """What a run trains on, its guide, the test split, and the content-gap sets: every generator's
    synthetic training images for a real-only run, the real train split for a synthetic-only one.
    """
    run, t = run_of(wildcards), wildcards.trainset
    inputs = {"test": data_manifest(t, "test")}
    if run.uses_real:
        inputs["real"] = data_manifest(t, "train")
    if run.uses_synthetic:
        inputs["synthetic"] = train_pool_manifest(t, run.generator, run.scale)
    if run.pretrained_guidance:
        pg = TRAINING["pretrained_guidance"]
        inputs["guide"] = (
            reference_weights(t) if pg["guide"] == "reference" else pg["weights"]
        )
    inputs |= {key: value for key, (value, _) in gap_sets(wildcards, t).items()}
    return inputs


def gap_sets(wildcards, trainset):
    """Content-gap evaluation sets of a run (synthval.recipes.gap_sources): {input name: (manifest,
    eval-set name)}."""
    sets = {}
    for source in gap_sources(run_of(wildcards), config):
        if source == REAL_TRAIN:
            sets["gap_real"] = (data_manifest(trainset, "train"), source)
        else:
            sets[f"gap_{source}"] = (train_pool_manifest(trainset, source, 1), source)
    return sets


def gap_set_names(wildcards):
    """Content-gap input -> eval-set name of a run (train_recipe's params)."""
    names = gap_sets(wildcards, wildcards.trainset)
    return canonical({key: name for key, (_, name) in names.items()})


def run_settings(wildcards):
    return run_of(wildcards).__dict__


def study_runs(wildcards):
    """Every run of the study and its settings (summarize_training's params)."""
    return canonical({name: run.__dict__ for name, run in RUNS.items()})


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


def leave_partial_report(log):
    """The workflow's onsuccess/onerror hook (synthval.report.build.leave_partial_report); it never
    masks the run's own outcome."""
    from synthval.report.build import leave_partial_report as leave

    try:
        if written := leave(config):
            logger.info(f"Partial report of what exists: {written}")
    except Exception as err:  # noqa: BLE001 - a hook must not replace the run's error
        logger.warning(f"Could not write the partial report: {err}")
