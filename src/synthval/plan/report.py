"""The report stage (workflow/rules/report.smk): every file the report reads (:func:`report_inputs`,
read by synthval.report.build too) and the figures it draws."""

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


class Report(Stage):
    def input_files(self) -> list[str]:
        """Every file the report reads (render_report's inputs)."""
        return report_inputs(self.study).files()

    def outputs(self, t: str) -> list[str]:
        """The figures of the selection and copy tables (the report itself is the run's, not a training
        set's: :meth:`synthval.plan.workflow.Plan.all_outputs`)."""
        return [paths.result_plot(t, n) for n in (*paths.RESULT_PLOTS, *paths.COPY_PLOTS)]

    def copies_tables(self, wildcards) -> list[str]:
        return [paths.copies_table(wildcards.trainset, g) for g in self.study.generators]

    def synthetic_manifests(self, wildcards) -> list[str]:
        return [paths.synthetic_manifest(wildcards.trainset, g) for g in self.study.generators]

    def quality_curves(self, wildcards) -> list[str]:
        return [paths.quality_curves(wildcards.trainset, g) for g in self.study.generators]
