"""Tables of the training-with-generated-data study (Wang et al. 2024; Sehwag et al. 2022; Yuan et al. 2024),
computed from the runs' prediction tables: accuracy per run and seed, means with intervals over seeds, each
method's paired gain over real-only training, the scaling series, and the content-gap losses (Wang et al. 2024
Obs. 3)."""

from __future__ import annotations

import math

import polars as pl

from synthval.inference import SEEDS, mean_interval

#: run fields carried into every table
RUN_COLUMNS = ("method", "generator", "data", "ratio", "scale", "pretrained_guidance", "real_guidance")


def _runs_frame(runs: dict[str, dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"run": name, **{k: run[k] for k in RUN_COLUMNS}} for name, run in runs.items()],
        schema={
            "run": pl.String,
            "method": pl.String,
            "generator": pl.String,
            "data": pl.String,
            "ratio": pl.Float64,
            "scale": pl.Int64,
            "pretrained_guidance": pl.Boolean,
            "real_guidance": pl.Boolean,
        },
    )


def accuracy_table(predictions: pl.DataFrame, runs: dict[str, dict]) -> pl.DataFrame:
    """Accuracy of every run and seed on the real test split (``test``) and, in the robust setting,
    under PGD (``test_pgd``): one row per (run, seed, eval_set), with the run's recipe fields."""
    acc = (
        predictions.filter(pl.col("eval_set").is_in(["test", "test_pgd"]))
        .group_by("run", "seed", "eval_set")
        .agg(accuracy=(pl.col("prediction") == pl.col("label")).mean(), n=pl.len())
    )
    return acc.join(_runs_frame(runs), on="run", how="left").sort("run", "eval_set", "seed")


def t_interval(values: list[float]) -> tuple[float, float, float, float]:
    """Mean, 95% Student-t interval over seeds (NaN bounds with fewer than two values) and the t-test's
    p-value against 0 (:func:`synthval.inference.mean_interval`)."""
    ci = mean_interval(values, SEEDS)
    return ci.estimate, ci.low, ci.high, ci.p_value


def method_summary(accuracy: pl.DataFrame, baseline: str = "real", eval_set: str = "test") -> pl.DataFrame:
    """Per run: mean accuracy with a 95% t-interval over seeds, and the gain over the ``baseline``
    method (real-only training) paired by seed (same seed: same initialisation), with its interval."""
    acc = accuracy.filter(pl.col("eval_set") == eval_set)
    base = acc.filter(pl.col("method") == baseline).select("seed", base=pl.col("accuracy"))
    rows = []
    for (run,), group in acc.group_by(["run"], maintain_order=True):
        first = group.row(0, named=True)
        mean, lo, hi, _ = t_interval(group["accuracy"].to_list())
        paired = group.join(base, on="seed", how="inner")
        gain = t_interval((paired["accuracy"] - paired["base"]).to_list()) if len(paired) else (math.nan,) * 4
        rows.append(
            {
                "run": run,
                **{k: first[k] for k in RUN_COLUMNS},
                "seeds": len(group),
                "accuracy": mean,
                "low": lo,
                "high": hi,
                "gain": gain[0],
                "gain_low": gain[1],
                "gain_high": gain[2],
                "gain_p": math.nan if first["method"] == baseline else gain[3],
            }
        )
    return pl.DataFrame(rows).sort("data", "method", "generator", nulls_last=False) if rows else pl.DataFrame()


def scaling_table(summary: pl.DataFrame) -> pl.DataFrame:
    """The synthetic-only runs without guidance, by generator and scale (Yuan et al.'s scaling curve)."""
    if summary.is_empty():
        return summary
    return summary.filter((pl.col("data") == "synthetic") & ~pl.col("pretrained_guidance")).sort("generator", "scale")


def content_gap_table(predictions: pl.DataFrame, runs: dict[str, dict]) -> pl.DataFrame:
    """Per-sample cross-entropy of each source's training samples under a classifier trained on the
    other source (Wang et al. 2024 Observation 3): ``synthetic under real`` (a real-only run scoring a
    generator's synthetic training images) and ``real under synthetic`` (a synthetic-only run scoring
    the real train split). Columns: direction, generator, run, seed, key, loss; one row per sample, in
    a total order."""
    runs_frame = _runs_frame(runs)
    table = predictions.filter(~pl.col("eval_set").is_in(["test", "test_pgd"])).join(runs_frame, on="run", how="left")
    synthetic_under_real = table.filter(pl.col("data") == "real").select(
        direction=pl.lit("synthetic under real"),
        generator=pl.col("eval_set"),
        run="run",
        seed="seed",
        key="key",
        loss="loss",
    )
    real_under_synthetic = table.filter(pl.col("data") == "synthetic").select(
        direction=pl.lit("real under synthetic"), generator="generator", run="run", seed="seed", key="key", loss="loss"
    )
    return pl.concat([synthetic_under_real, real_under_synthetic]).sort("direction", "generator", "run", "seed", "key")


def cas_table(summary: pl.DataFrame) -> pl.DataFrame:
    """The Classification Accuracy Score per generator: test accuracy of 1x synthetic-only training."""
    scaling = scaling_table(summary)
    if scaling.is_empty():
        return pl.DataFrame(schema={"generator": pl.String, "CAS": pl.Float64})
    return scaling.filter(pl.col("scale") == 1).select("generator", CAS=pl.col("accuracy"))


def percent_cell(mean: float, low: float, high: float) -> str:
    """A proportion as "mean [low, high]" in % (no interval when ``low`` is NaN)."""
    interval = f" [{low * 100:.1f}, {high * 100:.1f}]" if low == low else ""
    return f"{mean * 100:.2f}{interval}"


def study_table(summary: pl.DataFrame) -> pl.DataFrame:
    """Wang et al. 2024 Table 4's layout: one row per method, one column per generator, cells "mean [95% t
    interval]" of test accuracy in %; real-only training (no generator) is repeated in every column."""
    generators = sorted(g for g in summary["generator"].unique().to_list() if g is not None)
    order = {"real": 0, "synthetic": 1, "synthetic>real": 2, "real+synthetic": 3}
    rows = []
    for method in summary["method"].unique(maintain_order=True):
        runs = summary.filter(pl.col("method") == method)
        data = runs["data"][0]
        row = {"method": method, "data": data}
        for g in generators:
            hit = runs if data == "real" else runs.filter(pl.col("generator") == g)
            row[g] = percent_cell(hit["accuracy"][0], hit["low"][0], hit["high"][0]) if hit.height else "-"
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows).sort(pl.col("data").replace_strict(order, default=9, return_dtype=pl.Int64), "method")


def content_gap_summary(gap: pl.DataFrame) -> pl.DataFrame:
    """Per (direction, generator) of :func:`content_gap_table`: samples, median and mean loss, and the
    share of samples below 0.01 (a sample the classifier has as good as learnt)."""
    return (
        gap.group_by("direction", "generator")
        .agg(
            samples=pl.len(),
            median_loss=pl.col("loss").median(),
            mean_loss=pl.col("loss").mean(),
            **{"share below 0.01": (pl.col("loss") < 0.01).mean()},
        )
        .sort("generator", "direction")
    )
