"""Where every result of the workflow lives, and which results a config asks for: one place for the
paths the rules declare, the report reads and the tests check. Torch-free and free of Snakemake, so the
Snakefile plans with it and any script or notebook can find a result.

Paths are relative to the working directory, under :data:`RESULTS`. :class:`Study` holds what a config
implies (training sets, generators, members, shards, the study's runs); :func:`all_outputs` and
:func:`report_inputs` list what a run makes and what the report reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from synthval.config import num_classes
from synthval.recipes import (
    REAL_TRAIN,
    Run,
    gap_sources,
    lira_generators,
    lira_runs,
    pool_scale,
    runs,
    study_generators,
)
from synthval.zoo import (
    IMPORTED,
    Member,
    epoch_groups,
    imported_members,
    members,
    parse_model,
    save_epochs,
    seed_suffixes,
)

RESULTS = "results"
SPLITS = ["train", "test", "fit", "val"]
SELECTION_TABLES = ["protocols", "calibration", "corollary"]
RESULT_PLOTS = ["quality", "protocols", "calibration"]
TRAINING_TABLES = ["accuracy", "content_gap"]
TRAINING_PLOTS = ["scaling", "content_gap"]
COPY_PLOTS = ["copies", "copy_pairs"]
IMAGE_PLOTS = {"copy_pairs"}  # figures of images, kept raster
RECIPE_FILES = ["classifier.safetensors", "history.parquet", "predictions.parquet"]
LIRA_TABLES = ["attacks", "roc"]
LIRA_PLOT, ROBUSTNESS_PLOT = "lira", "robustness"  # membership inference, accuracy under shift
STUDY_PLOTS = [LIRA_PLOT, ROBUSTNESS_PLOT]


def shard_name(index: int) -> str:
    """A shard's name in file names and wildcards: 00000, 00001..."""
    return f"{index:05d}"


def class_name(index: int) -> str:
    """A class's name in file names and wildcards: 000, 001..."""
    return f"{index:03d}"


def epoch_name(epoch: int) -> str:
    """A saved epoch's name in weights file names: 001..."""
    return f"{epoch:03d}"


def path(*parts: str) -> str:
    return "/".join([RESULTS, *parts])


def log_path(rule: str, *wildcards: str) -> str:
    return path("logs", rule, *wildcards) + ".log"


def bench_path(rule: str, *wildcards: str) -> str:
    return path("benchmarks", rule, *wildcards) + ".tsv"


def data_manifest(trainset, split):
    return path("data", trainset, split, "manifest.json")


def augmented_manifest(trainset, split):
    return path("data", trainset, f"augmented-{split}", "manifest.json")


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


def features_file(trainset, dataset):
    """Features of the real train split (``dataset`` = train), of the test split (``test``: the unseen
    reference of copy detection) or of a synthetic set."""
    return path("features", trainset, f"{dataset}.safetensors")


def sscd_features_file(trainset, dataset):
    """SSCD copy-detection descriptors of a split or synthetic set (privacy.copy_detection.weights)."""
    return path("features", trainset, "sscd", f"{dataset}.safetensors")


def quality_table(trainset, generator):
    return path("quality", trainset, generator, "metrics.parquet")


def quality_curves(trainset, generator):
    return path("quality", trainset, generator, "curves.parquet")


def copies_table(trainset, generator):
    """Each synthetic (and held-out real) image's nearest training image and their similarity."""
    return path("privacy", trainset, generator, "copies.parquet")


def predictions(trainset, model):
    return path("predictions", trainset, f"{model}.parquet")


def errors_table(trainset):
    return path("selection", trainset, "errors.parquet")


def rank_table(trainset):
    return path("selection", trainset, "rank_correlation.parquet")


def worth_table(trainset, part="sets"):
    """What each synthetic set is worth in real images (``sets``), and the real-image curve (``curve``)."""
    return path("selection", trainset, f"real_image_worth_{part}.parquet")


def selection_table(trainset, name):
    """Protocol, calibration and Corollary 3.3 tables of one training set."""
    return path("selection", trainset, f"{name}.parquet")


def scatter_plot(trainset):
    return path("selection", trainset, "scatter.svg")


def class_error_plot(trainset):
    """The zoo's error per class on every evaluation set (a heatmap)."""
    return path("selection", trainset, "class_errors.svg")


def generator_history_plot(trainset, generator):
    return path("generators", trainset, generator, "history.svg")


def result_plot(trainset, name):
    """The per-training-set figures of the report: quality curves, protocols, calibration sweep. Plots
    are SVG (vector, with hover labels where points have names); figures of images are PNG."""
    return path("report", trainset, f"{name}{'.png' if name in IMAGE_PLOTS else '.svg'}")


def train_pool_shard(trainset, generator, shard):
    """A shard of a generator's synthetic training images (the study's, apart from its validation set)."""
    return path("synthetic", trainset, generator, "train", f"shard-{shard}.parquet")


def train_pool_shards(study: Study, trainset: str, generator: str, scale: int) -> list[str]:
    """The shards of a generator's synthetic training images that make its first ``scale`` train-size
    multiples (``training.shards_per_x`` shards each)."""
    per_x = study.config["training"]["shards_per_x"]
    return [train_pool_shard(trainset, generator, shard_name(i)) for i in range(scale * per_x)]


def shard_key_prefix(trainset: str, generator: str, shard: str, *, train: bool = False) -> str:
    """The prefix of the image keys of a synthetic shard: unique across training sets, generators,
    shards, and between a generator's validation set and its training images (``train``)."""
    return f"{trainset}-{generator}-{'train-' if train else ''}{shard}"


def train_pool_manifest(trainset, generator, scale):
    """The first ``scale`` train-size multiples of a generator's synthetic training images."""
    return path("synthetic", trainset, generator, "train", f"manifest-x{scale}.json")


def recipe_file(trainset, run, seed, name):
    """weights (classifier.safetensors), history.parquet or predictions.parquet of one study run."""
    return path("training", trainset, run, f"s{seed}", name)


def training_table(trainset, name):
    """The study's accuracy per run and seed, and its content-gap losses."""
    return path("training", trainset, f"{name}.parquet")


def lira_membership(trainset):
    """Which pool images (the train split) each LiRA model trains on: key, model, member."""
    return path("privacy", trainset, "lira", "membership.parquet")


def lira_half_manifest(trainset, half):
    """The real images of pool half ``half`` (LiRA model ``half``'s real training data)."""
    return path("privacy", trainset, "lira", f"h{half}", "data", "manifest.json")


def lira_generator_weights(trainset, half, generator):
    return path("privacy", trainset, "lira", f"h{half}", "generators", generator, "generator.safetensors")


def lira_synthetic_shard(trainset, half, generator):
    return path("privacy", trainset, "lira", f"h{half}", "generators", generator, f"shard-{shard_name(0)}.parquet")


def lira_synthetic_manifest(trainset, half, generator):
    return path("privacy", trainset, "lira", f"h{half}", "generators", generator, "manifest.json")


def lira_file(trainset, run, half, name):
    """weights, history or predictions (on the pool and the test split) of LiRA model ``half`` of a run."""
    return path("privacy", trainset, "lira", f"h{half}", "runs", run, name)


def lira_table(trainset, name):
    """The attacks' summary (``attacks``: AUC and TPR at low FPR per run and attack) and ROC curves."""
    return path("privacy", trainset, f"lira_{name}.parquet")


def shift_manifest(trainset, shift):
    """A shifted copy of the test split (a corruption at every severity) or a user's shifted test set."""
    return path("data", trainset, "shift", shift, "manifest.json")


def shift_scores(trainset):
    """Accuracy of every run and seed of the study on the clean and every shifted test set."""
    return path("robustness", trainset, "scores.parquet")


def robustness_table(trainset):
    return path("robustness", trainset, "accuracy.parquet")


def report_html():
    return path("report", "report.html")


def partial_report_html():
    return path("report", "partial-report.html")


# --- input and params helpers (functions of wildcards) ---


def generator_resume_state(trainset: str, generator: str, cls: str | None = None) -> str:
    """A generator's resume state (outside the declared outputs, which Snakemake deletes on a rerun)."""
    member = f"-class-{cls}" if cls is not None else ""
    return path("resume", "generators", trainset, f"{generator}{member}.safetensors")


def generator_live_log(trainset: str, generator: str) -> str:
    """A generator's losses and scores, appended as it trains (``synthval.generators.base.live_log_path``
    of its resume state)."""
    return path("resume", "generators", trainset, f"{generator}.jsonl")


def generator_live_grids(trainset: str, generator: str) -> str:
    """The folder of a generator's periodic sample grids (``generators.<g>.grid_every``)."""
    return path("resume", "generators", trainset, f"{generator}-samples")


def reference_resume_dir(trainset: str) -> str:
    return path("resume", "reference", trainset)


def classifier_resume_dir(trainset: str, configuration: str) -> str:
    return path("resume", "classifiers", trainset, configuration)


def recipe_resume_dir(trainset: str, run: str, seed: str) -> str:
    return path("resume", "training", trainset, run, f"s{seed}")


def lira_resume_dir(trainset: str, run: str, half: str) -> str:
    return path("resume", "privacy", trainset, run, f"h{half}")


def lira_generator_resume_state(trainset: str, half: str, generator: str) -> str:
    return path("resume", "privacy", trainset, "generators", f"{generator}-h{half}.safetensors")


@dataclass(frozen=True)
class Study:
    """What a (validated) config implies for the workflow's files."""

    trainsets: list[str]
    generators: list[str]
    per_class: list[str]  # generators trained one job per class, then assembled
    imported: list[str]  # samples made elsewhere: no training, no sampling
    classes: list[str]
    all_models: list[str]  # every zoo member, the imported ones last
    imported_models: list[str]  # classifiers trained elsewhere (zoo.imported): evaluated, never trained
    suffixes: list[str]  # what tells a configuration's members apart
    shards: list[str]
    webdataset: bool
    augmented: bool
    augmented_splits: list[str]
    runs: dict[str, Run]
    study_generators: list[str]
    train_pool_shards: dict[str, list[str]]
    training_seeds: list[int]
    epoch_groups: dict[tuple[str, ...], list[str]]  # saved-epoch names -> variants training that long
    lira_runs: list[str]  # study runs attacked by membership inference
    lira_halves: list[str]  # LiRA models: one per pool half
    lira_generators: list[str]  # generators trained once per pool half
    corruptions: list[str]  # shifted copies of the test split
    shifts: list[str]  # the corruptions, then the user's shifted test sets
    config: dict[str, Any] = field(repr=False)

    @classmethod
    def from_config(cls, config: dict) -> Study:
        generators = list(config["generators"])
        imported = [m.name for m in imported_members(config["zoo"])]
        all_models = [m.name for m in members(config["zoo"])] + imported
        augmented = config["augmented_validation"]["enabled"]
        study_runs = {r.name: r for r in runs(config)}
        study_gens = study_generators(config) if study_runs else []
        per_x = config["training"]["shards_per_x"]
        robust = config["robustness"]["enabled"] and bool(study_runs)
        corruptions = list(config["robustness"]["corruptions"]) if robust else []
        user_shifts = list(config["robustness"]["sets"]) if robust else []
        return cls(
            trainsets=list(config["data"]["train_sizes"]),
            generators=generators,
            per_class=[g for g in generators if config["generators"][g]["conditioning"] == "per_class"],
            imported=[g for g in generators if config["generators"][g]["family"] == "imported"],
            classes=[class_name(c) for c in range(num_classes(config) or 0)],
            all_models=all_models,
            imported_models=imported,
            suffixes=seed_suffixes(config["zoo"]),
            shards=[shard_name(i) for i in range(config["synthesis"]["shards"])],
            webdataset=config["synthesis"]["webdataset"],
            augmented=augmented,
            augmented_splits=sorted({parse_model(m).split for m in all_models if m not in imported})
            if augmented
            else [],
            runs=study_runs,
            study_generators=study_gens,
            train_pool_shards={g: [shard_name(i) for i in range(pool_scale(config, g) * per_x)] for g in study_gens},
            training_seeds=list(config["training"]["seeds"]),
            epoch_groups={
                tuple(epoch_name(e) for e in epochs): variants
                for epochs, variants in epoch_groups(config["zoo"]).items()
            },
            lira_runs=sorted(r.name for r in lira_runs(config)),  # sorted: the config's key order changes nothing
            lira_halves=[str(k) for k in range(config["privacy"]["lira"]["models"])] if lira_runs(config) else [],
            lira_generators=lira_generators(config),
            corruptions=corruptions,
            shifts=corruptions + user_shifts,
            config=config,
        )

    @property
    def whole(self) -> list[str]:
        """Generators trained in one job."""
        return [g for g in self.sampled if g not in self.per_class]

    @property
    def sampled(self) -> list[str]:
        """Generators whose sets are sampled (all but the imported ones)."""
        return [g for g in self.generators if g not in self.imported]

    @property
    def models(self) -> list[str]:
        """The members trained on the whole train split: the ones synthetic data must rank."""
        return [m for m in self.all_models if parse_model(m).split == "train"]

    @property
    def selection_sets(self) -> list[str]:
        """The sets that rank and select models: every synthetic set, and the augmented training split."""
        return self.generators + (["augmented"] if self.augmented else [])

    def epoch_tags(self, model: str) -> list[str]:
        """The saved epochs of a member, as they appear in its weights' file names (an imported
        classifier has one, epoch 1)."""
        if model in self.imported_models:
            return [epoch_name(1)]
        return [epoch_name(e) for e in save_epochs(self.config["zoo"], parse_model(model).variant)]

    def configuration_members(self, configuration: str) -> list[Member]:
        """The members of a configuration, in the order of its jobs' outputs (an imported
        configuration has one)."""
        if configuration.endswith(f"-{IMPORTED}") and f"{configuration}-s0" in self.imported_models:
            return [parse_model(f"{configuration}-s0")]
        return [parse_model(configuration + s) for s in self.suffixes]


# --- which files a job reads: the decisions behind the rules' input functions


def generator_inputs(study: Study, trainset: str, generator: str) -> dict[str, str]:
    """The train split; the reference classifier when checkpoints are scored with it; the data summary
    when prompts name the classes."""
    section = study.config["generators"][generator]
    inputs = {"train": data_manifest(trainset, "train")}
    if section["eval_every"] > 0:
        inputs["reference"] = reference_weights(trainset)
    if section["family"] == "stable_diffusion":  # the prompts name the classes of the summary
        inputs["summary"] = data_summary(trainset)
    return inputs


def synthesis_inputs(study: Study, trainset: str, generator: str) -> dict[str, str]:
    """The generator; the data summary (the class names); the reference classifier when it labels the
    samples; the train split when the samples start from its images."""
    section = study.config["generators"][generator]
    inputs = {"generator": generator_weights(trainset, generator), "summary": data_summary(trainset)}
    if section["conditioning"] == "pseudo_label":
        inputs["reference"] = reference_weights(trainset)
    if section.get("latent_prior"):  # samples start from real training images (stable_diffusion)
        inputs["train"] = data_manifest(trainset, "train")
    return inputs


def eval_sets(study: Study, trainset: str, member: Member) -> dict[str, tuple[str, str]]:
    """{evaluation set: (predict's input name, manifest)} of a member: the real test split and every
    synthetic set of its training set, the val split for members trained on fit (the standard
    protocol's validation set), and augmented copies of the split it was trained on (not for an
    imported classifier: its training data are not this workflow's).
    """
    split = member.split
    sets = {"test": ("test", data_manifest(trainset, "test"))}
    if split == "fit":
        sets["val"] = ("val", data_manifest(trainset, "val"))
    if study.augmented and member.variant != IMPORTED:
        sets["augmented"] = (f"augmented_{split}", augmented_manifest(trainset, split))
    return sets | {g: (g, synthetic_manifest(trainset, g)) for g in study.generators}


def feature_inputs(study: Study, trainset: str, dataset: str) -> dict[str, str]:
    """The images (``dataset``: the train split or a synthetic set) and the extractor's weights (the
    reference classifier, or the file the config names)."""
    images = data_manifest(trainset, dataset) if dataset in ("train", "test") else synthetic_manifest(trainset, dataset)
    quality = study.config["quality"]
    extractor = reference_weights(trainset) if quality["extractor"] == "reference" else quality["weights"]
    return {"images": images, "extractor": extractor}


def copy_features(study: Study, trainset: str, dataset: str) -> str:
    """The features copy detection compares: SSCD's when its weights are given, else the quality extractor's."""
    if study.config["privacy"]["copy_detection"]["weights"]:
        return sscd_features_file(trainset, dataset)
    return features_file(trainset, dataset)


def copy_detection_inputs(study: Study, trainset: str, generator: str) -> dict[str, str]:
    """A synthetic set's, the train split's and the test split's (the unseen reference) features and images."""
    return {
        "train": copy_features(study, trainset, "train"),
        "held_out": copy_features(study, trainset, "test"),
        "synthetic": copy_features(study, trainset, generator),
        "train_images": data_manifest(trainset, "train"),
        "held_out_images": data_manifest(trainset, "test"),
        "synthetic_images": synthetic_manifest(trainset, generator),
    }


def sscd_feature_inputs(study: Study, trainset: str, dataset: str) -> dict[str, str]:
    """The images and SSCD's weights."""
    images = data_manifest(trainset, dataset) if dataset in ("train", "test") else synthetic_manifest(trainset, dataset)
    return {"images": images, "extractor": study.config["privacy"]["copy_detection"]["weights"]}


def gap_sets(study: Study, trainset: str, run: str) -> dict[str, tuple[str, str]]:
    """Content-gap evaluation sets of a study run (synthval.recipes.gap_sources): {input name:
    (manifest, eval-set name)}."""
    sets = {}
    for source in gap_sources(study.runs[run], study.config):
        if source == REAL_TRAIN:
            sets["gap_real"] = (data_manifest(trainset, "train"), source)
        else:
            sets[f"gap_{source}"] = (train_pool_manifest(trainset, source, 1), source)
    return sets


def lira_generator_inputs(study: Study, trainset: str, half: str, generator: str) -> dict[str, str]:
    """A per-half generator's inputs: :func:`generator_inputs` with the pool half for the train split,
    and no reference (its checkpoints are not scored: the reference saw the whole pool)."""
    inputs = generator_inputs(study, trainset, generator) | {"train": lira_half_manifest(trainset, half)}
    inputs.pop("reference", None)
    return inputs


def lira_synthesis_inputs(study: Study, trainset: str, half: str, generator: str) -> dict[str, str]:
    """A per-half generator, the data summary, and its pool half when samples start from real images."""
    inputs = {"generator": lira_generator_weights(trainset, half, generator), "summary": data_summary(trainset)}
    if study.config["generators"][generator].get("latent_prior"):
        inputs["train"] = lira_half_manifest(trainset, half)
    return inputs


def lira_recipe_inputs(study: Study, trainset: str, run: str, half: str) -> dict[str, str]:
    """What LiRA model ``half`` of a run trains on (the pool half, the half's synthetic set), the test
    split (its accuracy, beside its leakage) and the pool it is queried on (the train split)."""
    r = study.runs[run]
    inputs = {"test": data_manifest(trainset, "test"), "pool": data_manifest(trainset, "train")}
    if r.uses_real:
        inputs["real"] = lira_half_manifest(trainset, half)
    if r.uses_synthetic:
        inputs["synthetic"] = lira_synthetic_manifest(trainset, half, r.generator)
    return inputs


def shift_inputs(study: Study, trainset: str) -> dict[str, str | list[str]]:
    """Every study run's weights (runs sorted by name, then seeds), the clean test split and every shifted
    test set."""
    return {
        "weights": [
            recipe_file(trainset, r, s, "classifier.safetensors")
            for r in sorted(study.runs)
            for s in study.training_seeds
        ],
        "test": data_manifest(trainset, "test"),
        "shifts": [shift_manifest(trainset, shift) for shift in study.shifts],
    }


def recipe_inputs(study: Study, trainset: str, run: str) -> dict[str, str]:
    """What a study run trains on, its guide, the test split, and its content-gap sets."""
    r = study.runs[run]
    inputs = {"test": data_manifest(trainset, "test")}
    if r.uses_real:
        inputs["real"] = data_manifest(trainset, "train")
    if r.uses_synthetic:
        inputs["synthetic"] = train_pool_manifest(trainset, r.generator, r.scale)
    if r.pretrained_guidance:
        pg = study.config["training"]["pretrained_guidance"]
        inputs["guide"] = reference_weights(trainset) if pg["guide"] == "reference" else pg["weights"]
    return inputs | {key: manifest for key, (manifest, _) in gap_sets(study, trainset, run).items()}


def watchable(study: Study, generator: str) -> bool:
    """Whether a generator is one training job with a live log (not imported, not one per class)."""
    return generator not in study.imported and study.config["generators"][generator]["conditioning"] != "per_class"


@dataclass(frozen=True)
class GeneratorFiles:
    """What the report reads of one generator on one training set."""

    weights: str | None  # None: imported samples
    history_plot: str | None
    manifest: str
    grid: str
    quality: str
    curves: str
    live: str | None = None  # appended while it trains (one model, not one per class)
    live_grids: str | None = None


@dataclass(frozen=True)
class TrainingFiles:
    """The training study's tables and figures of one training set."""

    accuracy: str
    content_gap: str
    scaling_plot: str
    content_gap_plot: str


@dataclass(frozen=True)
class PrivacyFiles:
    """LiRA's summary, ROC curves and figure of one training set."""

    attacks: str
    roc: str
    plot: str


@dataclass(frozen=True)
class RobustnessFiles:
    """Accuracy under distribution shift of one training set, and its figure."""

    accuracy: str
    plot: str


@dataclass(frozen=True)
class TrainsetFiles:
    """What the report reads of one training set: its splits, reference classifier, generators,
    zoo, rank and selection tables, figures, and (when the config has runs) the training study."""

    summary: str
    reference: str
    generators: dict[str, GeneratorFiles]
    histories: list[str]
    errors: str
    rank: str
    worth: str
    worth_curve: str
    scatter: str
    class_errors: str
    protocols: str
    calibration: str
    corollary: str
    quality_plot: str
    protocols_plot: str
    calibration_plot: str
    copies: dict[str, str]  # per generator
    copies_plot: str
    copy_pairs_plot: str
    training: TrainingFiles | None = None
    lira: PrivacyFiles | None = None
    robustness: RobustnessFiles | None = None


@dataclass(frozen=True)
class ReportInputs:
    """Every file the report reads, per training set, and the benchmarks folder; render_report's
    inputs are :meth:`files`."""

    benchmarks: str
    trainsets: dict[str, TrainsetFiles]

    def files(self) -> list[str]:
        """Every file, in order (not the benchmarks folder, which the run fills as it goes, nor the live
        logs of jobs still running)."""
        return _leaves([asdict(f) for f in self.trainsets.values()])


# read when present, while a job runs; never an input of the report, which must not wait for them
LIVE_FIELDS = frozenset({"live", "live_grids"})


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() if k not in LIVE_FIELDS for p in _leaves(v)]
    if isinstance(value, list | tuple):
        return [p for v in value for p in _leaves(v)]
    return [] if value is None else [str(value)]


def report_inputs(study: Study) -> ReportInputs:
    """Everything the report reads (synthval.report.build)."""
    trainsets = {}
    for t in study.trainsets:
        generators = {
            g: GeneratorFiles(
                weights=None if g in study.imported else generator_weights(t, g),
                history_plot=None if g in study.imported else generator_history_plot(t, g),
                manifest=synthetic_manifest(t, g),
                grid=sample_grid(t, g),
                quality=quality_table(t, g),
                curves=quality_curves(t, g),
                live=generator_live_log(t, g) if watchable(study, g) else None,
                live_grids=generator_live_grids(t, g) if watchable(study, g) else None,
            )
            for g in study.generators
        }
        training = None
        if study.runs:
            training = TrainingFiles(
                **{name: training_table(t, name) for name in TRAINING_TABLES},
                **{f"{name}_plot": result_plot(t, name) for name in TRAINING_PLOTS},
            )
        trainsets[t] = TrainsetFiles(
            summary=data_summary(t),
            reference=reference_history(t),
            generators=generators,
            histories=[classifier_history(t, m) for m in study.models],
            errors=errors_table(t),
            rank=rank_table(t),
            worth=worth_table(t),
            worth_curve=worth_table(t, "curve"),
            scatter=scatter_plot(t),
            class_errors=class_error_plot(t),
            **{name: selection_table(t, name) for name in SELECTION_TABLES},
            **{f"{name}_plot": result_plot(t, name) for name in RESULT_PLOTS},
            copies={g: copies_table(t, g) for g in study.generators},
            **{f"{name}_plot": result_plot(t, name) for name in COPY_PLOTS},
            training=training,
            lira=PrivacyFiles(lira_table(t, "attacks"), lira_table(t, "roc"), result_plot(t, LIRA_PLOT))
            if study.lira_runs
            else None,
            robustness=RobustnessFiles(robustness_table(t), result_plot(t, ROBUSTNESS_PLOT)) if study.shifts else None,
        )
    return ReportInputs(benchmarks=path("benchmarks"), trainsets=trainsets)


def all_outputs(study: Study) -> list[str]:
    """Every artifact, not just the report: Snakemake does not remake a deleted intermediate file
    whose consumers are up to date, but it does remake a missing target and then reruns every job
    downstream of it. Listing them all makes "delete a file, rerun" redo exactly its dependents.
    """
    outputs = [report_html()]
    for t in study.trainsets:
        outputs += [data_summary(t)] + [data_manifest(t, s) for s in SPLITS]
        outputs += [augmented_manifest(t, s) for s in study.augmented_splits]
        outputs += [reference_weights(t), reference_history(t)]
        for g in study.per_class:
            outputs += [class_generator_weights(t, g, c) for c in study.classes]
        outputs += [errors_table(t), rank_table(t), worth_table(t), worth_table(t, "curve")]
        outputs += [scatter_plot(t), class_error_plot(t)]
        outputs += [selection_table(t, n) for n in SELECTION_TABLES]
        outputs += [result_plot(t, n) for n in RESULT_PLOTS]
        outputs += [features_file(t, d) for d in ["train", *study.generators]]  # the quality metrics' ...
        outputs += [copy_features(study, t, d) for d in ["train", "test", *study.generators]]  # ... and copies'

        outputs += [copies_table(t, g) for g in study.generators] + [result_plot(t, n) for n in COPY_PLOTS]
        for g in study.generators:
            outputs += [synthetic_manifest(t, g), sample_grid(t, g), quality_table(t, g), quality_curves(t, g)]
            if g not in study.imported:
                outputs += [generator_weights(t, g), generator_history_plot(t, g)]
            outputs += [synthetic_shard(t, g, s) for s in study.shards]
            if study.webdataset:
                outputs += [webdataset_manifest(t, g)]
                outputs += [webdataset_shard(t, g, s) for s in study.shards]
        for g, shards in study.train_pool_shards.items():
            outputs += [train_pool_shard(t, g, s) for s in shards]
        outputs += [train_pool_manifest(t, r.generator, r.scale) for r in study.runs.values() if r.uses_synthetic]
        outputs += [train_pool_manifest(t, g, 1) for g in study.study_generators]
        for r in study.runs:
            for s in study.training_seeds:
                outputs += [recipe_file(t, r, s, name) for name in RECIPE_FILES]
        if study.runs:
            outputs += [training_table(t, n) for n in TRAINING_TABLES]
            outputs += [result_plot(t, n) for n in TRAINING_PLOTS]
        if study.lira_runs:
            outputs += [lira_membership(t)] + [lira_table(t, n) for n in LIRA_TABLES] + [result_plot(t, LIRA_PLOT)]
            for h in study.lira_halves:
                outputs += [lira_half_manifest(t, h)]
                for g in study.lira_generators:
                    outputs += [lira_generator_weights(t, h, g), lira_synthetic_shard(t, h, g)]
                    outputs += [lira_synthetic_manifest(t, h, g)]
                outputs += [lira_file(t, r, h, name) for r in study.lira_runs for name in RECIPE_FILES]
        if study.shifts:
            outputs += [shift_manifest(t, s) for s in study.shifts] + [shift_scores(t)]
            outputs += [robustness_table(t), result_plot(t, ROBUSTNESS_PLOT)]
        for m in study.all_models:
            outputs += [classifier_history(t, m), predictions(t, m)]
            outputs += [classifier_weights(t, m, e) for e in study.epoch_tags(m)]
    return list(dict.fromkeys(outputs))  # a study run at 1x asks for the manifest the content gap needs too
