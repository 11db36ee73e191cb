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
    term: str = ""  # the report's glossary entry that defines it (synthval.report.glossary.TERMS)


MANIFOLD = "precision, recall, density, coverage"  # one glossary entry for the four

#: Every metric, in the order the report and the command show them.
METRICS: tuple[Metric, ...] = (
    Metric("fid", "FID", "lower", "squared feature distance", term="FID, KID"),
    Metric("kid", "KID", "lower", "squared feature distance (cubic polynomial kernel)", term="FID, KID"),
    Metric("kid_std", "KID sd", None, "as KID, over subsets", headline=False, term="FID, KID"),
    Metric("precision", "precision", "higher", "share of synthetic points on the real manifold", term=MANIFOLD),
    Metric("recall", "recall", "higher", "share of real points on the synthetic manifold", term=MANIFOLD),
    Metric("density", "density", "higher", "ratio, 1 for a set as dense as the real one", term=MANIFOLD),
    Metric("coverage", "coverage", "higher", "share of real neighbourhoods holding a synthetic point", term=MANIFOLD),
    Metric("prd_f8", "PRD F₈", "higher", "F-score of the PRD curve, recall-weighted", term="PRD"),
    Metric("prd_f1_8", "PRD F₁/₈", "higher", "F-score of the PRD curve, precision-weighted", term="PRD"),
    Metric("tv", "TV", "lower", "total variation, 0-1", term="TV"),
    Metric("tv_std", "TV sd", None, "as TV, over PRD runs", headline=False, term="TV"),
    Metric("tv_floor", "TV floor", None, "TV between two halves of the real split", term="TV"),
    Metric("tv_floor_n", "TV floor n", None, "images in each half", headline=False, term="TV"),
    Metric("arc", "ARC", "lower", "area under the real-vs-synthetic accuracy curve", term="ARC"),
    Metric("mmd", "MMD²", "lower", "squared MMD, RBF kernels", term="MMD"),
    Metric("n_real", "real points", None, "real feature vectors compared (after subsampling)", headline=False),
    Metric("n_fake", "synthetic points", None, "synthetic feature vectors compared", headline=False),
)
BY_NAME = {m.name: m for m in METRICS}
#: the names other tables carry over from the quality table (Shoshan et al. 2023 Corollary 3.3's TV)
TV, TV_FLOOR = BY_NAME["tv"].name, BY_NAME["tv_floor"].name

#: Metrics where a smaller value means synthetic data closer to the real split, and where a larger one does.
LOWER_IS_BETTER = tuple(m.name for m in METRICS if m.better == "lower")
HIGHER_IS_BETTER = tuple(m.name for m in METRICS if m.better == "higher")


def directions_sentence() -> str:
    """Which way is better, in words: "Lower is better for FID, KID, ...; higher for precision, ..."."""
    lower = [m.display for m in METRICS if m.better == "lower"]
    higher = [m.display for m in METRICS if m.better == "higher"]
    return f"Lower is better for {', '.join(lower[:-1])} and {lower[-1]}; higher for {', '.join(higher)}."
