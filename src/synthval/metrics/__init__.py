"""Quality of a synthetic set against the real training split, computed on shared features: FID, KID,
precision/recall, density/coverage, PRD and total variation (:mod:`.prd`), ARC (:mod:`.arc`) and MMD
(:mod:`.quality` computes them all). What each metric is called, which way is better and its unit live
here, in :data:`METRICS`, which the report and the ``synthval score`` command read without loading
torch; import the metrics themselves from their modules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One column of the quality tables (``metric`` in ``results/quality/<trainset>/<generator>/metrics.parquet``)."""

    name: str
    display: str  # as the report and the command print it
    better: str | None  # "lower" or "higher"; None: not a score itself (a spread, a reference, a count)
    unit: str
    headline: bool = True  # a column of the report's quality table


#: Every metric, in the order the report and the command show them.
METRICS: tuple[Metric, ...] = (
    Metric("fid", "FID", "lower", "squared feature distance"),
    Metric("kid", "KID", "lower", "squared feature distance (cubic polynomial kernel)"),
    Metric("kid_std", "KID sd", None, "as KID, over subsets", headline=False),
    Metric("precision", "precision", "higher", "share of synthetic points on the real manifold"),
    Metric("recall", "recall", "higher", "share of real points on the synthetic manifold"),
    Metric("density", "density", "higher", "ratio, 1 for a set as dense as the real one"),
    Metric("coverage", "coverage", "higher", "share of real neighbourhoods holding a synthetic point"),
    Metric("prd_f8", "PRD F₈", "higher", "F-score of the PRD curve, recall-weighted"),
    Metric("prd_f1_8", "PRD F₁/₈", "higher", "F-score of the PRD curve, precision-weighted"),
    Metric("tv", "TV", "lower", "total variation, 0-1"),
    Metric("tv_std", "TV sd", None, "as TV, over PRD runs", headline=False),
    Metric("tv_floor", "TV floor", None, "TV between two halves of the real split"),
    Metric("tv_floor_n", "TV floor n", None, "images in each half", headline=False),
    Metric("arc", "ARC", "lower", "area under the real-vs-synthetic accuracy curve"),
    Metric("mmd", "MMD²", "lower", "squared MMD, RBF kernels"),
)
BY_NAME = {m.name: m for m in METRICS}

#: Metrics where a smaller value means synthetic data closer to the real split, and where a larger one does.
LOWER_IS_BETTER = tuple(m.name for m in METRICS if m.better == "lower")
HIGHER_IS_BETTER = tuple(m.name for m in METRICS if m.better == "higher")


def directions_sentence() -> str:
    """Which way is better, in words: "Lower is better for FID, KID, ...; higher for precision, ..."."""
    lower = [m.display for m in METRICS if m.better == "lower"]
    higher = [m.display for m in METRICS if m.better == "higher"]
    return f"Lower is better for {', '.join(lower[:-1])} and {lower[-1]}; higher for {', '.join(higher)}."
