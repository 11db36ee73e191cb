"""Synthetic-set calibration (seed 000 §4.4, eq. 1) and the Corollary 3.3 check (§3).

Calibration re-weights the synthetic images so that a held-out set of *calibration models* gets, on
the weighted synthetic set, the per-class errors it has on real data. For each class c separately,
with A (models x synthetic images of class c) the 0/1 prediction-correctness matrix of the M
calibration models and r their real error on class c, the weights w and intercept b solve the ridge
problem ``min |r - (A w + b)|^2 + lam |w|^2`` (the intercept is not penalised) in closed form:
centring A and r removes b, then ``w = A_c^T (A_c A_c^T + lam I)^-1 r_c`` (the dual form of
``(A_c^T A_c + lam I)^-1 A_c^T r_c``: an M x M solve, cheap when there are fewer models than images),
and ``b = mean(r) - mean(A) w``. A new model's calibrated error on class c is ``w . a + b`` for its
correctness vector a, and its calibrated error is the class-frequency-weighted mean over classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from synthval.selection.ranking import last_epoch


def fit_ridge(correct: np.ndarray, real_error: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge regression with an unpenalised intercept: ``real_error ~ correct @ w + b``."""
    a = np.asarray(correct, np.float64)
    r = np.asarray(real_error, np.float64)
    a_mean, r_mean = a.mean(axis=0), r.mean()
    ac, rc = a - a_mean, r - r_mean
    gram = ac @ ac.T + lam * np.eye(len(ac))
    w = ac.T @ np.linalg.lstsq(gram, rc, rcond=None)[0]
    return w, float(r_mean - a_mean @ w)


@dataclass(frozen=True)
class Correctness:
    """Per class, the 0/1 correctness of ``models`` (rows) on the synthetic images of that class."""

    models: list[str]
    per_class: dict[int, np.ndarray]

    @classmethod
    def from_predictions(cls, predictions: pl.DataFrame, eval_set: str, epoch_of: dict[str, int]) -> Correctness:
        chosen = pl.DataFrame({"model": list(epoch_of), "epoch": list(epoch_of.values())})
        rows = (predictions.filter(pl.col("eval_set") == eval_set).join(chosen, on=["model", "epoch"])
                .select("model", "key", "label", correct=(pl.col("prediction") == pl.col("label")).cast(pl.Float64)))
        models = sorted(epoch_of)
        per_class = {}
        for label in sorted(rows["label"].unique().to_list()):
            wide = rows.filter(pl.col("label") == label).pivot(on="key", index="model", values="correct")
            keys = sorted(c for c in wide.columns if c != "model")
            index = {m: i for i, m in enumerate(wide["model"].to_list())}
            per_class[label] = wide.select(keys).to_numpy()[[index[m] for m in models]]
        return cls(models, per_class)

    def rows(self, models: list[str]) -> dict[int, np.ndarray]:
        index = {m: i for i, m in enumerate(self.models)}
        take = [index[m] for m in models]
        return {c: a[take] for c, a in self.per_class.items()}


def calibrate(correct: dict[int, np.ndarray], real_error: dict[int, np.ndarray], lam: float) -> dict[int, tuple[np.ndarray, float]]:
    """Eq. 1 per class: ``correct[c]`` (calibration models x images of class c), ``real_error[c]``
    (their real error on class c) -> (weights, intercept)."""
    return {c: fit_ridge(correct[c], real_error[c], lam) for c in correct if c in real_error}


def calibrated_error(correct: dict[int, np.ndarray], calibration: dict[int, tuple[np.ndarray, float]], class_weights: dict[int, float]) -> np.ndarray:
    """Calibrated error of each row (model): per class ``w . a + b``, averaged with ``class_weights``."""
    total = sum(class_weights[c] for c in calibration)
    return sum(class_weights[c] / total * (correct[c] @ w + b) for c, (w, b) in calibration.items())


def calibration_sweep(predictions: pl.DataFrame, members: pl.DataFrame, generator: str, sizes: list[int], ridges: list[float], draws: int,
                      seed: int) -> pl.DataFrame:
    """Seed 000 Table 3/4: Spearman's rho between calibrated synthetic errors and test errors of the
    evaluation models (trained on the whole train split) for each number of calibration models and
    ridge strength, ``draws`` random draws each. Calibration models are the members trained on the
    fit sub-split; their real per-class errors come from the val split (never the test split, which
    only scores the result). Empty when the zoo has no fit members."""
    last = last_epoch(members)
    epoch_of = dict(last.select("model", "epoch").unique().iter_rows())
    calibration_models = sorted(last.filter(pl.col("split") == "fit")["model"].unique().to_list())
    evaluation_models = sorted(last.filter(pl.col("split") == "train")["model"].unique().to_list())
    if not calibration_models or len(evaluation_models) < 3:
        return pl.DataFrame()
    correct = Correctness.from_predictions(predictions, generator, epoch_of)
    val = Correctness.from_predictions(predictions, "val", {m: epoch_of[m] for m in calibration_models})
    real_error = {c: 1 - a.mean(axis=1) for c, a in val.per_class.items()}  # per calibration model, val split
    class_weights = {c: float(a.shape[1]) for c, a in val.per_class.items()}  # the val split's class frequencies
    test = last.filter(pl.col("eval_set") == "test", pl.col("split") == "train")
    test_error = dict(test.select("model", "error").iter_rows())
    target = np.array([test_error[m] for m in evaluation_models])
    synthetic = last.filter(pl.col("eval_set") == generator, pl.col("split") == "train")
    synthetic_error = dict(synthetic.select("model", "error").iter_rows())
    uncalibrated = stats.spearmanr([synthetic_error[m] for m in evaluation_models], target)[0]
    evaluation = correct.rows(evaluation_models)
    rng = np.random.default_rng(seed)
    rows = []
    for size in sorted({min(s, len(calibration_models)) for s in sizes}):
        for lam in ridges:
            rhos = []
            for _ in range(draws if size < len(calibration_models) else 1):
                chosen = sorted(rng.choice(calibration_models, size, replace=False).tolist())
                index = [calibration_models.index(m) for m in chosen]
                weights = calibrate(correct.rows(chosen), {c: e[index] for c, e in real_error.items()}, lam)
                estimate = calibrated_error(evaluation, weights, class_weights)
                rhos.append(float(stats.spearmanr(estimate, target)[0]) if np.std(estimate) > 0 else float("nan"))
            rows.append({"generator": generator, "calibration_models": size, "ridge": lam, "draws": len(rhos),
                         "spearman": float(np.nanmean(rhos)), "spearman_min": float(np.nanmin(rhos)), "spearman_max": float(np.nanmax(rhos)),
                         "uncalibrated_spearman": float(uncalibrated), "evaluation_models": len(evaluation_models),
                         "real_split": "val (calibration models trained on fit)"})
    return pl.DataFrame(rows)


def corollary_check(synthetic: dict[str, float], real: dict[str, float], tv: float) -> dict[str, float]:
    """Seed 000 Corollary 3.3: a pair of models whose synthetic errors differ by more than the total
    variation keeps its order on real data. Returns, over all model pairs, how many have a synthetic
    gap above ``tv`` and the share of those whose real order agrees (the theorem predicts 1), next to
    the same share among the other pairs. A pair is flipped when the real and synthetic differences
    have opposite signs; equal real errors do not count as a flip."""
    models = sorted(set(synthetic) & set(real))
    s = np.array([synthetic[m] for m in models])
    r = np.array([real[m] for m in models])
    i, j = np.triu_indices(len(models), 1)
    gap = np.abs(s[i] - s[j])
    kept = (s[i] - s[j]) * (r[i] - r[j]) >= 0
    above = gap > tv
    return {"tv": tv, "pairs": int(len(i)), "pairs_above_tv": int(above.sum()),
            "preserved_above_tv": float(kept[above].mean()) if above.any() else float("nan"),
            "pairs_below_tv": int((~above).sum()), "preserved_below_tv": float(kept[~above].mean()) if (~above).any() else float("nan")}
