"""Where every result of the workflow lives: one place for the paths the rules declare, the report reads
and the tests check, relative to the working directory under :data:`RESULTS`. Torch-free and free of
Snakemake, so any script or notebook can find a result.

Resume state (``results/resume/...``) lies outside every job's declared outputs: Snakemake deletes
those before a job reruns, and a killed job must find its state again.
"""

from __future__ import annotations

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
