"""The report stage (workflow/rules/report.smk): every file the report reads (:func:`report_inputs`,
read by synthval.report.build too) and every artifact a run makes (:func:`all_outputs`, rule all's
inputs), with the figures' inputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from synthval.plan import paths
from synthval.plan.stage import Stage
from synthval.plan.study import Study


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
                weights=None if g in study.imported else paths.generator_weights(t, g),
                history_plot=None if g in study.imported else paths.generator_history_plot(t, g),
                manifest=paths.synthetic_manifest(t, g),
                grid=paths.sample_grid(t, g),
                quality=paths.quality_table(t, g),
                curves=paths.quality_curves(t, g),
                live=paths.generator_live_log(t, g) if study.watchable(g) else None,
                live_grids=paths.generator_live_grids(t, g) if study.watchable(g) else None,
            )
            for g in study.generators
        }
        training = None
        if study.runs:
            training = TrainingFiles(
                **{name: paths.training_table(t, name) for name in paths.TRAINING_TABLES},
                **{f"{name}_plot": paths.result_plot(t, name) for name in paths.TRAINING_PLOTS},
            )
        trainsets[t] = TrainsetFiles(
            summary=paths.data_summary(t),
            reference=paths.reference_history(t),
            generators=generators,
            histories=[paths.classifier_history(t, m) for m in study.models],
            errors=paths.errors_table(t),
            rank=paths.rank_table(t),
            worth=paths.worth_table(t),
            worth_curve=paths.worth_table(t, "curve"),
            scatter=paths.scatter_plot(t),
            class_errors=paths.class_error_plot(t),
            **{name: paths.selection_table(t, name) for name in paths.SELECTION_TABLES},
            **{f"{name}_plot": paths.result_plot(t, name) for name in paths.RESULT_PLOTS},
            copies={g: paths.copies_table(t, g) for g in study.generators},
            **{f"{name}_plot": paths.result_plot(t, name) for name in paths.COPY_PLOTS},
            training=training,
            lira=PrivacyFiles(
                paths.lira_table(t, "attacks"), paths.lira_table(t, "roc"), paths.result_plot(t, paths.LIRA_PLOT)
            )
            if study.lira_runs
            else None,
            robustness=RobustnessFiles(paths.robustness_table(t), paths.result_plot(t, paths.ROBUSTNESS_PLOT))
            if study.shifts
            else None,
        )
    return ReportInputs(benchmarks=paths.path("benchmarks"), trainsets=trainsets)


def all_outputs(study: Study) -> list[str]:
    """Every artifact, not just the report: Snakemake does not remake a deleted intermediate file
    whose consumers are up to date, but it does remake a missing target and then reruns every job
    downstream of it. Listing them all makes "delete a file, rerun" redo exactly its dependents.
    """
    outputs = [paths.report_html()]
    for t in study.trainsets:
        outputs += [paths.data_summary(t)] + [paths.data_manifest(t, s) for s in paths.SPLITS]
        outputs += [paths.augmented_manifest(t, s) for s in study.augmented_splits]
        outputs += [paths.reference_weights(t), paths.reference_history(t)]
        for g in study.per_class:
            outputs += [paths.class_generator_weights(t, g, c) for c in study.classes]
        outputs += [paths.errors_table(t), paths.rank_table(t), paths.worth_table(t), paths.worth_table(t, "curve")]
        outputs += [paths.scatter_plot(t), paths.class_error_plot(t)]
        outputs += [paths.selection_table(t, n) for n in paths.SELECTION_TABLES]
        outputs += [paths.result_plot(t, n) for n in paths.RESULT_PLOTS]
        outputs += [paths.features_file(t, d) for d in ["train", *study.generators]]  # the quality metrics' ...
        outputs += [study.copy_features(t, d) for d in ["train", "test", *study.generators]]  # ... and copies'

        outputs += [paths.copies_table(t, g) for g in study.generators] + [
            paths.result_plot(t, n) for n in paths.COPY_PLOTS
        ]
        for g in study.generators:
            outputs += [
                paths.synthetic_manifest(t, g),
                paths.sample_grid(t, g),
                paths.quality_table(t, g),
                paths.quality_curves(t, g),
            ]
            if g not in study.imported:
                outputs += [paths.generator_weights(t, g), paths.generator_history_plot(t, g)]
            outputs += [paths.synthetic_shard(t, g, s) for s in study.shards]
            if study.webdataset:
                outputs += [paths.webdataset_manifest(t, g)]
                outputs += [paths.webdataset_shard(t, g, s) for s in study.shards]
        for g, shards in study.train_pool_shards.items():
            outputs += [paths.train_pool_shard(t, g, s) for s in shards]
        outputs += [paths.train_pool_manifest(t, r.generator, r.scale) for r in study.runs.values() if r.uses_synthetic]
        outputs += [paths.train_pool_manifest(t, g, 1) for g in study.study_generators]
        for r in study.runs:
            for s in study.training_seeds:
                outputs += [paths.recipe_file(t, r, s, name) for name in paths.RECIPE_FILES]
        if study.runs:
            outputs += [paths.training_table(t, n) for n in paths.TRAINING_TABLES]
            outputs += [paths.result_plot(t, n) for n in paths.TRAINING_PLOTS]
        if study.lira_runs:
            outputs += (
                [paths.lira_membership(t)]
                + [paths.lira_table(t, n) for n in paths.LIRA_TABLES]
                + [paths.result_plot(t, paths.LIRA_PLOT)]
            )
            for h in study.lira_halves:
                outputs += [paths.lira_half_manifest(t, h)]
                for g in study.lira_generators:
                    outputs += [paths.lira_generator_weights(t, h, g), paths.lira_synthetic_shard(t, h, g)]
                    outputs += [paths.lira_synthetic_manifest(t, h, g)]
                outputs += [paths.lira_file(t, r, h, name) for r in study.lira_runs for name in paths.RECIPE_FILES]
        if study.shifts:
            outputs += [paths.shift_manifest(t, s) for s in study.shifts] + [paths.shift_scores(t)]
            outputs += [paths.robustness_table(t), paths.result_plot(t, paths.ROBUSTNESS_PLOT)]
        for m in study.all_models:
            outputs += [paths.classifier_history(t, m), paths.predictions(t, m)]
            outputs += [paths.classifier_weights(t, m, e) for e in study.epoch_tags(m)]
    return list(dict.fromkeys(outputs))  # a study run at 1x asks for the manifest the content gap needs too


class Report(Stage):
    def input_files(self) -> list[str]:
        """Every file the report reads (render_report's inputs)."""
        return report_inputs(self.study).files()

    def all_outputs(self) -> list[str]:
        return all_outputs(self.study)

    def copies_tables(self, wildcards) -> list[str]:
        return [paths.copies_table(wildcards.trainset, g) for g in self.study.generators]

    def synthetic_manifests(self, wildcards) -> list[str]:
        return [paths.synthetic_manifest(wildcards.trainset, g) for g in self.study.generators]

    def quality_curves(self, wildcards) -> list[str]:
        return [paths.quality_curves(wildcards.trainset, g) for g in self.study.generators]
