"""Synthetic-set calibration (Shoshan et al. 2023 §4.4, eq. 1) and the Corollary 3.3 check (§3).

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

from synthval.inference import correlation_difference
from synthval.metrics import TV, TV_FLOOR
from synthval.selection.ranking import ALL, configuration_means, group_names, last_epoch, rank_statistic
from synthval.zoo import architecture_of


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
        rows = (
            predictions.filter(pl.col("eval_set") == eval_set)
            .join(chosen, on=["model", "epoch"])
            .select("model", "key", "label", correct=(pl.col("prediction") == pl.col("label")).cast(pl.Float64))
        )
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


def calibrate(
    correct: dict[int, np.ndarray], real_error: dict[int, np.ndarray], lam: float
) -> dict[int, tuple[np.ndarray, float]]:
    """Eq. 1 per class: ``correct[c]`` (calibration models x images of class c), ``real_error[c]``
    (their real error on class c) -> (weights, intercept)."""
    return {c: fit_ridge(correct[c], real_error[c], lam) for c in correct if c in real_error}


def calibrated_error(
    correct: dict[int, np.ndarray], calibration: dict[int, tuple[np.ndarray, float]], class_weights: dict[int, float]
) -> np.ndarray:
    """Calibrated error of each row (model): per class ``w . a + b``, averaged with ``class_weights``."""
    total = sum(class_weights[c] for c in calibration)
    return sum(class_weights[c] / total * (correct[c] @ w + b) for c, (w, b) in calibration.items())


def _sample(models: list[str], size: int, draws: int, rng: np.random.Generator) -> list[list[str]]:
    """``draws`` random subsets of ``size`` of ``models`` (one, all of them, when ``size`` covers them)."""
    if size >= len(models):
        return [list(models)]
    return [sorted(rng.choice(models, size, replace=False).tolist()) for _ in range(draws)]


def leave_one_out(
    correct: Correctness,
    real_error: dict[int, np.ndarray],
    class_weights: dict[int, float],
    size: int,
    lam: float,
    draws: int,
    seed: int,
) -> tuple[float, float]:
    """Score a calibration operating point on the calibration models alone: each calibration model in
    turn is held out, the others (``size`` of them, ``draws`` random draws) calibrate, and the held-out
    model's calibrated synthetic error is compared with its own val error. Returns Spearman's rho and the
    mean absolute error over the held-out models; the test split is never read."""
    models = correct.models
    total = sum(class_weights[c] for c in real_error)
    val = sum(class_weights[c] / total * e for c, e in real_error.items())  # each calibration model's val error
    rng = np.random.default_rng(seed)
    predicted = []
    for held in models:
        rest = [m for m in models if m != held]
        estimates = []
        for chosen in _sample(rest, min(size, len(rest)), draws, rng):
            index = [models.index(m) for m in chosen]
            weights = calibrate(correct.rows(chosen), {c: e[index] for c, e in real_error.items()}, lam)
            estimates.append(float(calibrated_error(correct.rows([held]), weights, class_weights)[0]))
        predicted.append(np.mean(estimates))
    held_out = np.array(predicted)
    return rank_statistic(held_out, np.asarray(val)), float(np.abs(held_out - val).mean())


def choose_point(sweep: pl.DataFrame, point: str | dict) -> tuple[int, float]:
    """The operating point: fixed in the config (``{models, ridge}``, models capped at the calibration
    models there are), or ``auto``: the best leave-one-model-out rho, then the lower leave-one-out error,
    then fewer calibration models and the stronger ridge, among the points with more than one calibration
    model. Reads no test error."""
    sizes = sorted(sweep["calibration_models"].unique().to_list())
    if isinstance(point, dict):
        return min(point["models"], sizes[-1]), float(point["ridge"])
    if (
        sweep["loo_spearman"].is_nan().all()
    ):  # too few calibration models to hold one out: all of them, the middle ridge
        ridges = sorted(sweep["ridge"].unique().to_list())
        return sizes[-1], float(ridges[len(ridges) // 2])
    # one calibration model gives every model the same estimate (the centred regression has nothing to fit)
    candidates = sweep.filter(pl.col("calibration_models") > 1) if sizes[-1] > 1 else sweep
    ranked = candidates.unique(["calibration_models", "ridge"]).sort(
        pl.col("loo_spearman").fill_nan(None).fill_null(-2.0),
        pl.col("loo_mae").fill_nan(None).fill_null(np.inf),
        "calibration_models",
        "ridge",
        descending=[True, False, False, True],
    )
    best = ranked.row(0, named=True)
    return best["calibration_models"], float(best["ridge"])


def _point_rows(
    generator: str,
    size: int,
    lam: float,
    estimates: list[np.ndarray],
    uncalibrated: np.ndarray,
    scopes: dict[str, np.ndarray],
    by_config,
    loo: tuple[float, float],
    by_architecture,
) -> list[dict]:
    """The rows of one point of the sweep (``size`` calibration models, ridge ``lam``), pooled and per
    group: the rho of the calibrated errors over configurations averaged over the draws, the draws' range,
    and the change from the uncalibrated rho on the same architectures (architecture means: configurations
    of one architecture are not independent units, :mod:`synthval.questions`), with Zou's interval."""
    calibrated = np.mean(estimates, axis=0)  # each model's calibrated error, over the draws
    rows = []
    for group, index in scopes.items():
        drawn = [rank_statistic(*by_config(e, index)) for e in estimates]
        defined = [r for r in drawn if r == r]
        test_c = by_config(calibrated, index)[1]
        test_a = by_architecture(calibrated, index)[1]
        change = correlation_difference(
            test_a, by_architecture(calibrated, index)[0], by_architecture(uncalibrated, index)[0]
        )
        rows.append(
            {
                "generator": generator,
                "group": group,
                "calibration_models": size,
                "ridge": lam,
                "draws": len(drawn),
                "spearman": rank_statistic(*by_config(calibrated, index)),
                "spearman_min": float(np.min(defined)) if defined else float("nan"),
                "spearman_max": float(np.max(defined)) if defined else float("nan"),
                "uncalibrated_spearman": rank_statistic(*by_config(uncalibrated, index)),
                "change": change.estimate,
                "change_low": change.low,
                "change_high": change.high,
                "p_value": change.p_value,
                "interval": change.method,
                "evaluation_models": len(index),
                "evaluation_configs": len(test_c),
                "evaluation_architectures": len(test_a),
                "change_unit": "architectures",
                "loo_spearman": loo[0],
                "loo_mae": loo[1],
                "real_split": "val (calibration models trained on fit)",
            }
        )
    return rows


def _means_by(target: np.ndarray, labels: np.ndarray):
    """``(estimate, index) ->`` per label of ``index``'s models (a configuration, an architecture): the mean
    of ``estimate`` and of ``target`` (the test error)."""

    def means(estimate: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return configuration_means(estimate[index], target[index], labels[index])

    return means


def calibration_sweep(
    predictions: pl.DataFrame,
    members: pl.DataFrame,
    generator: str,
    sizes: list[int],
    ridges: list[float],
    draws: int,
    seed: int,
    point: str | dict = "auto",
) -> pl.DataFrame:
    """Shoshan et al. 2023 Table 3/4: Spearman's rho over configurations between calibrated synthetic errors and
    test errors of the evaluation models (trained on the whole train split; each configuration the mean
    over its seeds) for each number of calibration models and ridge strength, ``draws`` random draws of
    calibration models each (``spearman``: the rho of each model's calibrated error averaged over the
    draws; ``spearman_min``/``max``: the range of the draws' rhos), and the change from the uncalibrated
    rho, paired on the same architectures (architecture means), with Zou's interval and its p-value
    (:func:`synthval.inference.correlation_difference`), pooled (group ``all``) and per group of ``members``
    (the errors table with its members, :func:`synthval.selection.ranking.with_members`).
    Calibration models are the members trained on the fit sub-split; their real per-class errors come
    from the val split (never the test split, which only scores the result). Every point also carries
    its leave-one-model-out score on the calibration models (:func:`leave_one_out`), and the operating
    point (``point``, :func:`choose_point`) is marked ``chosen``: the test split never chooses it.
    Empty when the zoo has no fit members."""
    last = last_epoch(members)
    epoch_of = dict(last.select("model", "epoch").unique().iter_rows())
    evaluated = last.filter(pl.col("split") == "train")  # the members the calibrated errors rank
    calibration_models = sorted(last.filter(pl.col("split") == "fit")["model"].unique().to_list())
    evaluation_models = sorted(evaluated["model"].unique().to_list())
    if not calibration_models or len(evaluation_models) < 3:
        return pl.DataFrame()
    correct = Correctness.from_predictions(predictions, generator, epoch_of)
    val = Correctness.from_predictions(predictions, "val", {m: epoch_of[m] for m in calibration_models})
    real_error = {c: 1 - a.mean(axis=1) for c, a in val.per_class.items()}  # per calibration model, val split
    class_weights = {c: float(a.shape[1]) for c, a in val.per_class.items()}  # the val split's class frequencies
    calibrators = Correctness(calibration_models, correct.rows(calibration_models))
    group_of = dict(evaluated.select("model", "group").unique().iter_rows())
    scopes = {
        g: np.array([i for i, m in enumerate(evaluation_models) if g in (ALL, group_of[m])])
        for g in group_names(evaluated)
    }
    test_error = dict(evaluated.filter(pl.col("eval_set") == "test").select("model", "error").iter_rows())
    target = np.array([test_error[m] for m in evaluation_models])
    synthetic_error = dict(evaluated.filter(pl.col("eval_set") == generator).select("model", "error").iter_rows())
    uncalibrated = np.array([synthetic_error[m] for m in evaluation_models])
    config_of = dict(evaluated.select("model", "config").unique().iter_rows())
    configs = np.array([config_of[m] for m in evaluation_models])
    evaluation = correct.rows(evaluation_models)

    by_config = _means_by(target, configs)
    by_architecture = _means_by(target, np.array([architecture_of(c) for c in configs]))

    rng = np.random.default_rng(seed)
    rows = []
    for size in sorted({min(s, len(calibration_models)) for s in sizes}):
        for lam in ridges:
            loo = (
                leave_one_out(calibrators, real_error, class_weights, size, lam, draws, seed)
                if len(calibration_models) >= 3
                else (float("nan"), float("nan"))
            )
            estimates = []
            for chosen in _sample(calibration_models, size, draws, rng):
                index = [calibration_models.index(m) for m in chosen]
                weights = calibrate(correct.rows(chosen), {c: e[index] for c, e in real_error.items()}, lam)
                estimates.append(calibrated_error(evaluation, weights, class_weights))
            rows += _point_rows(generator, size, lam, estimates, uncalibrated, scopes, by_config, loo, by_architecture)
    sweep = pl.DataFrame(rows)
    size, lam = choose_point(sweep, point)
    chosen_by = (
        "config (selection.calibration_point)"
        if isinstance(point, dict)
        else "leave-one-model-out on the calibration models' val errors"
    )
    return sweep.with_columns(
        chosen=(pl.col("calibration_models") == size) & (pl.col("ridge") == lam), chosen_by=pl.lit(chosen_by)
    )


def corollary_check(
    synthetic: dict[str, float], real: dict[str, float], tv: float, tv_floor: float = float("nan")
) -> dict[str, float]:
    """Shoshan et al. 2023 Corollary 3.3: a pair of models whose synthetic errors differ by more than the total
    variation keeps its order on real data. TV here is PRD's ``1 - sum min(P, Q)``, the half-L1
    convention; a pair's errors can each move by up to TV between the domains, so the gap that
    guarantees the order under that convention is 2 TV: both thresholds are counted. For each, how many
    pairs of models have a synthetic gap above it and the share of those whose real order agrees (the
    theorem predicts 1), next to the same share among the pairs below TV. ``tv_floor`` is the same
    estimator between two halves of the real train split (:func:`synthval.metrics.quality.compare`):
    a TV near it is at the estimator's resolution. A pair is flipped when the real and synthetic
    differences have opposite signs; equal real errors do not count as a flip."""
    models = sorted(set(synthetic) & set(real))
    s = np.array([synthetic[m] for m in models])
    r = np.array([real[m] for m in models])
    i, j = np.triu_indices(len(models), 1)
    gap = np.abs(s[i] - s[j])
    kept = (s[i] - s[j]) * (r[i] - r[j]) >= 0

    def share(mask: np.ndarray) -> float:
        return float(kept[mask].mean()) if mask.any() else float("nan")

    above, above2 = gap > tv, gap > 2 * tv
    return {
        TV: tv,
        TV_FLOOR: tv_floor,
        "pairs": len(i),
        "pairs_above_tv": int(above.sum()),
        "preserved_above_tv": share(above),
        "pairs_above_2tv": int(above2.sum()),
        "preserved_above_2tv": share(above2),
        "pairs_below_tv": int((~above).sum()),
        "preserved_below_tv": share(~above),
    }
