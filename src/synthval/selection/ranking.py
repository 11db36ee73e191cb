"""Rank preservation (seed 000 §4.1): do models rank the same on a synthetic set as on the test split?"""

from __future__ import annotations

import numpy as np
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


def _bootstrap_correlations(ref: np.ndarray, other: np.ndarray, repeats: int, seed: int) -> dict[str, float]:
    """95% percentile intervals of Spearman's rho and Kendall's tau over models resampled with replacement."""
    rng = np.random.default_rng(seed)
    rhos, taus = [], []
    for _ in range(repeats):
        idx = rng.integers(0, len(ref), len(ref))
        a, b = ref[idx], other[idx]
        if a.std() == 0 or b.std() == 0:
            continue
        rhos.append(stats.spearmanr(b, a)[0])
        taus.append(stats.kendalltau(b, a)[0])
    if not rhos:
        return dict.fromkeys(("spearman_low", "spearman_high", "kendall_low", "kendall_high"), float("nan"))
    return {"spearman_low": float(np.percentile(rhos, 2.5)), "spearman_high": float(np.percentile(rhos, 97.5)),
            "kendall_low": float(np.percentile(taus, 2.5)), "kendall_high": float(np.percentile(taus, 97.5))}


def rank_correlation(errors: pl.DataFrame, reference: str = "test", repeats: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Spearman's rho and Kendall's tau between each eval set's errors and the ``reference`` errors,
    over all models at their last saved epoch (the models a user would deploy), with 95% bootstrap
    intervals over models (``repeats`` resamples)."""
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
        intervals = _bootstrap_correlations(ref, other, 0 if constant else repeats, seed)
        rows.append({"eval_set": eval_set, "reference": reference, "n_models": len(ref), "spearman": float(rho), "spearman_p": float(p_rho),
                     "kendall": float(tau), "kendall_p": float(p_tau), **intervals})
    schema = {"eval_set": pl.String, "reference": pl.String, "n_models": pl.Int64, "spearman": pl.Float64, "spearman_p": pl.Float64,
              "kendall": pl.Float64, "kendall_p": pl.Float64, "spearman_low": pl.Float64, "spearman_high": pl.Float64,
              "kendall_low": pl.Float64, "kendall_high": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
