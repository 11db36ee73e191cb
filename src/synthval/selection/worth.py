"""What a synthetic set is worth in labelled real images: the number of real validation images whose
errors rank the configurations as well as the synthetic set does.

The design keeps the test split a scorer. Its images are split once into two fixed halves (seeded):
the *scoring half* gives every model its test error, the *drawing half* supplies real "validation sets"
of n images, ``draws`` random ones per n. Each draw ranks the configurations (the mean error of their
seeds on the n images) against their errors on the scoring half; the mean rho over draws, per n, is the
real-image curve. The synthetic set's rho against the same scoring half is placed on that curve,
interpolated in log n: its worth. The interval maps the ends of the synthetic rho's Fisher interval
(:func:`synthval.inference.rank_interval`) through the curve, so it carries the uncertainty of the
synthetic rho over configurations, not the curve's own Monte Carlo error (``draws`` sets that). Nothing
is chosen here: both halves only score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from synthval.inference import rank_interval, spearman
from synthval.selection.ranking import configuration_means, group_names, in_group, last_epoch, with_members

#: validation-set sizes of the curve, capped at the drawing half's size (which is always added)
SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def split_halves(keys: Sequence[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The test keys (sorted) cut into a scoring half and a drawing half by a seeded permutation."""
    ordered = np.array(sorted(keys))
    order = np.random.default_rng(seed).permutation(len(keys))
    half = len(keys) // 2
    return np.sort(ordered[order[:half]]), np.sort(ordered[order[half:]])


def _curve_value(curve: list[tuple[int, float]], rho: float) -> float:
    """The n at which the curve reaches ``rho``, interpolated in log n; beyond its ends, +/-inf."""
    if rho != rho:
        return math.nan
    sizes = [n for n, _ in curve]
    rhos = [r for _, r in curve]
    if rho <= rhos[0]:
        return -math.inf
    for (n0, r0), (n1, r1) in itertools.pairwise(curve):
        if r0 < rho <= r1:
            t = (rho - r0) / (r1 - r0)
            return float(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))))
    return math.inf if rho > max(rhos) else float(sizes[int(np.argmax(rhos))])


CURVE_SCHEMA = {"group": pl.String, "images": pl.Int64, "spearman": pl.Float64, "draws": pl.Int64}
WORTH_SCHEMA = {
    "eval_set": pl.String,
    "group": pl.String,
    "spearman": pl.Float64,
    "real_images": pl.Float64,
    "real_images_low": pl.Float64,
    "real_images_high": pl.Float64,
    "scoring_images": pl.Int64,
    "drawing_images": pl.Int64,
}


def _real_curve(
    pool: np.ndarray,
    scored: np.ndarray,
    configs: np.ndarray,
    sizes: list[int],
    draws: int,
    rng: np.random.Generator,
) -> list[tuple[int, float, int]]:
    """(n, mean rho, draws) for each size n: the rank correlation over configurations between the models'
    errors on ``draws`` random sets of n images of the drawing half (``pool``: model x image) and their
    errors on the scoring half (``scored``); one draw where n is the whole half."""
    points = []
    for n in sizes:
        rhos = []
        for _ in range(draws if n < pool.shape[1] else 1):
            take = rng.choice(pool.shape[1], n, replace=False)
            rhos.append(spearman(*configuration_means(pool[:, take].mean(axis=1), scored, configs)))
        defined = [r for r in rhos if r == r]
        points.append((n, float(np.mean(defined)) if defined else math.nan, len(rhos)))
    return points


def real_image_worth(
    predictions: pl.DataFrame,
    selection_sets: Sequence[str],
    groups: Mapping[str, str] | None,
    draws: int,
    seed: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The real-image curve (group, images, spearman: mean over ``draws``, draws) and each selection set's
    worth (eval_set, group, spearman on the scoring half, real_images with its low and high; ``-inf``:
    below the curve's smallest size, ``inf``: above what the drawing half can show), per group and pooled,
    from the train members' predictions at their last epoch."""
    last = last_epoch(predictions.filter(pl.col("eval_set").is_in(["test", *selection_sets])))
    members = with_members(last.select("model").unique(), groups).filter(pl.col("split") == "train")
    test = last.filter(pl.col("eval_set") == "test").join(members.select("model"), on="model", how="semi")
    scoring, drawing = split_halves(test["key"].unique().to_list(), seed)
    wrong = test.with_columns(wrong=(pl.col("prediction") != pl.col("label")).cast(pl.Float64)).pivot(
        on="key", index="model", values="wrong"
    )
    models = sorted(wrong["model"].to_list())
    wrong = wrong.sort("model")
    config_of = dict(members.select("model", "config").iter_rows())
    group_of = dict(members.select("model", "group").iter_rows())
    scored = wrong.select(scoring.tolist()).to_numpy().mean(axis=1)
    pool = wrong.select(drawing.tolist()).to_numpy()
    set_errors = {
        s: dict(
            last.filter(pl.col("eval_set") == s)
            .group_by("model")
            .agg(error=(pl.col("prediction") != pl.col("label")).mean())
            .iter_rows()
        )
        for s in selection_sets
    }
    sizes = sorted({n for n in SIZES if n < pool.shape[1]} | {pool.shape[1]})
    rng = np.random.default_rng(seed)
    curve_rows, worth_rows = [], []
    table = pl.DataFrame({"model": models, "group": [group_of[m] for m in models]})
    for group in group_names(table):
        index = np.array([i for i, m in enumerate(models) if m in set(in_group(table, group)["model"])])
        configs = np.array([config_of[models[i]] for i in index])
        points = _real_curve(pool[index], scored[index], configs, sizes, draws, rng)
        curve_rows += [{"group": group, "images": n, "spearman": r, "draws": k} for n, r, k in points]
        curve = [(n, r) for n, r, _ in points if r == r]
        for s in selection_sets:
            synthetic = np.array([set_errors[s].get(models[i], math.nan) for i in index])
            if np.isnan(synthetic).any() or not curve:
                continue
            x, y = configuration_means(synthetic, scored[index], configs)
            rho = rank_interval(x, y, seed)
            worth_rows.append(
                {
                    "eval_set": s,
                    "group": group,
                    "spearman": rho.estimate,
                    "real_images": _curve_value(curve, rho.estimate),
                    "real_images_low": _curve_value(curve, rho.low),
                    "real_images_high": _curve_value(curve, rho.high),
                    "scoring_images": len(scoring),
                    "drawing_images": len(drawing),
                }
            )
    return pl.DataFrame(curve_rows, schema=CURVE_SCHEMA), pl.DataFrame(worth_rows, schema=WORTH_SCHEMA)


def worth_cell(images: float, low: float, high: float) -> str:
    """``images [low, high]`` as a reader wants it: whole images, and < / > past the curve's ends."""

    def one(v: float) -> str:
        if v != v:
            return "n/a"
        if v == -math.inf:
            return f"< {SIZES[0]}"
        if v == math.inf:
            return "> all drawn"
        return f"{round(v):,}"

    interval = "" if low != low else f" [{one(low)}, {one(high)}]"
    return one(images) + interval
