"""Paths, wildcard constraints and input/params helpers. No rules here."""

import re

from synthval.config import num_classes
from synthval.io import derive_seed
from synthval.zoo import (
    MODEL_PATTERN,
    member_spec,
    members,
    parse_model,
    train_settings,
)

RESULTS = "results"
TRAINSETS = list(config["data"]["train_sizes"])
SPLITS = ["train", "test", "fit", "val"]
GENERATORS = list(config["generators"])
# per_class generators are one job per class, then assembled; the others are one job each
PER_CLASS = [
    g for g in GENERATORS if config["generators"][g]["conditioning"] == "per_class"
]
WHOLE = [g for g in GENERATORS if g not in PER_CLASS]
CLASSES = [f"{c:03d}" for c in range(num_classes(config) or 0)]
# every zoo member, and those trained on the whole train split (the ones synthetic data must rank)
ALL_MODELS = [m.name for m in members(config["zoo"])]
MODELS = [m for m in ALL_MODELS if parse_model(m).split == "train"]
SHARDS = [f"{i:05d}" for i in range(config["synthesis"]["shards"])]
SAVE_EPOCHS = sorted(set(config["zoo"]["save_epochs"]) | {config["zoo"]["epochs"]})
EPOCH_TAGS = [f"{e:03d}" for e in SAVE_EPOCHS]


wildcard_constraints:
    trainset="|".join(TRAINSETS),
    generator="|".join(GENERATORS),
    model=MODEL_PATTERN,
    shard=r"[0-9]{5}",
    split="|".join(SPLITS),
    cls=r"[0-9]{3}",


def one_of(names):
    """A wildcard regex matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def path(*parts):
    return "/".join([RESULTS, *parts])


def log_path(rule, *wildcards):
    return path("logs", rule, *wildcards) + ".log"


def bench_path(rule, *wildcards):
    return path("benchmarks", rule, *wildcards) + ".tsv"


def data_manifest(trainset, split):
    return path("data", trainset, split, "manifest.json")


def data_summary(trainset):
    return path("data", trainset, "summary.json")


def generator_weights(trainset, generator):
    return path("generators", trainset, generator, "generator.safetensors")


def class_generator_weights(trainset, generator, cls):
    return path("generators", trainset, generator, f"class-{cls}.safetensors")


def reference_weights(trainset):
    return path("reference", trainset, "classifier.safetensors")


def reference_history(trainset):
    return path("reference", trainset, "history.parquet")


def generator_resume(wildcards):
    member = f"-class-{wildcards.cls}" if "cls" in wildcards.keys() else ""
    return path(
        "resume",
        "generators",
        wildcards.trainset,
        f"{wildcards.generator}{member}.safetensors",
    )


def reference_workdir(wildcards):
    return path("resume", "reference", wildcards.trainset)


def synthetic_shard(trainset, generator, shard):
    return path("synthetic", trainset, generator, f"shard-{shard}.parquet")


def synthetic_manifest(trainset, generator):
    return path("synthetic", trainset, generator, "manifest.json")


def webdataset_shard(trainset, generator, shard):
    return path("synthetic", trainset, generator, "wds", f"shard-{shard}.tar")


def webdataset_manifest(trainset, generator):
    return path("synthetic", trainset, generator, "wds", "manifest.json")


def sample_grid(trainset, generator):
    return path("synthetic", trainset, generator, "samples.png")


def classifier_weights(trainset, model, epoch):
    return path("classifiers", trainset, model, f"epoch-{epoch}.safetensors")


def classifier_history(trainset, model):
    return path("classifiers", trainset, model, "history.parquet")


def classifier_workdir(wildcards):
    return path("resume", "classifiers", wildcards.trainset, wildcards.model)


def predictions(trainset, model):
    return path("predictions", trainset, f"{model}.parquet")


def errors_table(trainset):
    return path("selection", trainset, "errors.parquet")


def rank_table(trainset):
    return path("selection", trainset, "rank_correlation.parquet")


def scatter_plot(trainset):
    return path("selection", trainset, "scatter.png")


def report_html():
    return path("report", "report.html")


# --- input and params helpers (functions of wildcards) ---


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
    """The reference classifier trains with the zoo-wide settings, its own architecture and epochs."""
    ref = config["reference"]
    train = {**train_settings(config["zoo"]), "epochs": ref["epochs"]}
    return {"arch": ref["architecture"], "hparams": {}, "train": canonical(train)}


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
    return canonical(config["generators"][wildcards.generator])


def generator_seed(wildcards):
    member = [wildcards.cls] if "cls" in wildcards.keys() else []
    return derive_seed(
        config["seed"],
        "train_generator",
        wildcards.trainset,
        wildcards.generator,
        *member,
    )


def shard_seed(wildcards):
    return derive_seed(
        config["seed"],
        "synthesize",
        wildcards.trainset,
        wildcards.generator,
        wildcards.shard,
    )


def shard_index(wildcards):
    return int(wildcards.shard)


def model_spec(wildcards):
    """Architecture, its keywords and training settings of one member (only what it depends on)."""
    return member_spec(config["zoo"], parse_model(wildcards.model), config["seed"])


def model_seed(wildcards):
    return parse_model(wildcards.model).seed


def model_split(wildcards):
    """The real split a member trains on: train, or the standard protocol's fit sub-split."""
    return data_manifest(wildcards.trainset, parse_model(wildcards.model).split)


def weights_of(wildcards):
    return [
        classifier_weights(wildcards.trainset, wildcards.model, e) for e in EPOCH_TAGS
    ]


def eval_sets(wildcards):
    """Evaluation sets of a model: the real test split and every synthetic set of its training set,
    and the val split for members trained on fit (the standard protocol's validation set).
    """
    sets = {"test": data_manifest(wildcards.trainset, "test")}
    if parse_model(wildcards.model).split == "fit":
        sets["val"] = data_manifest(wildcards.trainset, "val")
    sets.update({g: synthetic_manifest(wildcards.trainset, g) for g in GENERATORS})
    return sets


def predictions_of(wildcards):
    return [predictions(wildcards.trainset, m) for m in MODELS]


def grow_with_attempt(base):
    """A resource that doubles, triples... with each retry of a failed job."""

    def grow(wildcards, attempt):
        return base * attempt

    return grow


def all_outputs():
    """Every artifact, not just the report: Snakemake does not remake a deleted intermediate file
    whose consumers are up to date, but it does remake a missing target and then reruns every job
    downstream of it. Listing them all makes "delete a file, rerun" redo exactly its dependents.
    """
    outputs = [report_html()]
    for t in TRAINSETS:
        outputs += [data_summary(t)] + [data_manifest(t, s) for s in SPLITS]
        outputs += [reference_weights(t), reference_history(t)]
        for g in PER_CLASS:
            outputs += [class_generator_weights(t, g, c) for c in CLASSES]
        outputs += [errors_table(t), rank_table(t), scatter_plot(t)]
        for g in GENERATORS:
            outputs += [
                generator_weights(t, g),
                synthetic_manifest(t, g),
                sample_grid(t, g),
            ]
            outputs += [synthetic_shard(t, g, s) for s in SHARDS]
            if config["synthesis"]["webdataset"]:
                outputs += [webdataset_manifest(t, g)]
                outputs += [webdataset_shard(t, g, s) for s in SHARDS]
        for m in ALL_MODELS:
            outputs += [classifier_history(t, m), predictions(t, m)]
            outputs += [classifier_weights(t, m, e) for e in EPOCH_TAGS]
    return outputs
