"""Accuracy under distribution shift (Yuan et al. 2024 §4.4, App. G.3): the training study's runs scored on
shifted copies of the test split (synthval.data.corruptions) and on real shifted test sets, each
summarised over seeds with a 95% Student-t interval; the drop from clean accuracy is paired by seed
(the same model scored clean and shifted)."""

from __future__ import annotations

import math

import polars as pl

from synthval.evaluation.study import t_interval

CLEAN = "clean"  # the unshifted test split, severity 0
MEAN_CORRUPTION = "mean corruption"  # per seed and severity, the mean over the corruptions
BASELINE = "real"  # the run every other run's drop is compared with (real-only training)


def with_mean_corruption(scores: pl.DataFrame, corruptions: list[str]) -> pl.DataFrame:
    """``scores`` plus, per run, seed and severity, the mean accuracy over ``corruptions``."""
    mean = (
        scores.filter(pl.col("shift").is_in(corruptions))
        .group_by("run", "seed", "severity")
        # summed in the order of the corruptions' names, so the mean is the same to the last bit on every run
        .agg(pl.col("accuracy").sort_by("shift").mean(), pl.col("images").sum())
        .with_columns(shift=pl.lit(MEAN_CORRUPTION))
    )
    return pl.concat([scores, mean.select(scores.columns)]) if mean.height else scores


def robustness_summary(scores: pl.DataFrame, corruptions: list[str]) -> pl.DataFrame:
    """Per run, shift and severity: mean accuracy over seeds with its t-interval; the drop from the same
    seeds' clean accuracy with its t-interval; and the *excess drop*, the run's drop minus real-only
    training's, paired by seed (the study's runs of one seed start from the same weights), with its
    t-interval (resampling unit: training seeds)."""
    scores = with_mean_corruption(scores, corruptions)
    clean = scores.filter(pl.col("shift") == CLEAN).select("run", "seed", clean=pl.col("accuracy"))
    paired = scores.join(clean, on=["run", "seed"], how="left").with_columns(drop=pl.col("clean") - pl.col("accuracy"))
    base = paired.filter(pl.col("run") == BASELINE).select("seed", "shift", "severity", base=pl.col("drop"))
    # seeds in order within each group: a join's row order is not promised, and a sum in another order
    # differs in the last bit
    paired = paired.join(base, on=["seed", "shift", "severity"], how="left").sort("run", "shift", "severity", "seed")
    none = (math.nan, math.nan, math.nan, math.nan)
    rows = []
    for (run, shift, severity), group in paired.group_by(["run", "shift", "severity"], maintain_order=True):
        acc = t_interval(group["accuracy"].to_list())
        drop = t_interval(group["drop"].to_list()) if shift != CLEAN else (0.0, math.nan, math.nan, math.nan)
        both = group.drop_nulls("base")
        shifted = shift != CLEAN and run != BASELINE and both.height
        excess = t_interval((both["drop"] - both["base"]).to_list()) if shifted else none
        rows.append(
            {
                "run": run,
                "shift": shift,
                "severity": severity,
                "seeds": group.height,
                "images": int(group["images"].to_numpy().max()),
                "accuracy": acc[0],
                "low": acc[1],
                "high": acc[2],
                "drop": drop[0],
                "drop_low": drop[1],
                "drop_high": drop[2],
                "excess_drop": excess[0],
                "excess_low": excess[1],
                "excess_high": excess[2],
                "excess_p": excess[3],
            }
        )
    return pl.DataFrame(rows).sort("run", "shift", "severity")


def strongest_shift(summary: pl.DataFrame) -> pl.DataFrame:
    """Per run, the mean corruption at the highest severity (or, without corruptions, each user set)."""
    mean = summary.filter(pl.col("shift") == MEAN_CORRUPTION)
    if mean.height:
        return mean.filter(pl.col("severity") == pl.col("severity").max().over("run")).sort("run")
    return summary.filter(pl.col("shift") != CLEAN).sort("run", "shift")
