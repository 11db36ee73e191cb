"""Rank preservation (seed 000 §4.1): do models rank the same on a synthetic set as on the test split?"""

from __future__ import annotations

import polars as pl
from scipy import stats


def last_epoch(table: pl.DataFrame) -> pl.DataFrame:
    """Rows of each model's last saved epoch (the model a user would deploy)."""
    return table.filter(pl.col("epoch") == pl.col("epoch").max().over("model"))


def model_errors(predictions: pl.DataFrame) -> pl.DataFrame:
    """Top-1 error of every (model, epoch, eval set) from per-sample prediction tables."""
    return (
        predictions.group_by("model", "epoch", "eval_set")
        .agg(error=(pl.col("prediction") != pl.col("label")).mean(), n=pl.len())
        .sort("eval_set", "model", "epoch")
    )


def rank_correlation(errors: pl.DataFrame, reference: str = "test") -> pl.DataFrame:
    """Spearman's rho and Kendall's tau between each eval set's errors and the ``reference`` errors,
    over all models at their last saved epoch (the models a user would deploy)."""
    wide = last_epoch(errors).pivot(on="eval_set", index="model", values="error").sort("model")
    if reference not in wide.columns:
        raise ValueError(f"no errors on the reference set {reference!r}; have {sorted(set(wide.columns) - {'model'})}")
    rows = []
    for eval_set in sorted(c for c in wide.columns if c not in ("model", reference)):
        pair = wide.select(reference, eval_set).drop_nulls()
        ref, other = pair[reference].to_numpy(), pair[eval_set].to_numpy()
        constant = len(ref) < 3 or ref.std() == 0 or other.std() == 0
        rho, p_rho = (float("nan"), float("nan")) if constant else stats.spearmanr(other, ref)
        tau, p_tau = (float("nan"), float("nan")) if constant else stats.kendalltau(other, ref)
        rows.append({"eval_set": eval_set, "reference": reference, "n_models": len(ref), "spearman": float(rho), "spearman_p": float(p_rho),
                     "kendall": float(tau), "kendall_p": float(p_tau)})
    return pl.DataFrame(rows, schema={"eval_set": pl.String, "reference": pl.String, "n_models": pl.Int64, "spearman": pl.Float64,
                                      "spearman_p": pl.Float64, "kendall": pl.Float64, "kendall_p": pl.Float64})
