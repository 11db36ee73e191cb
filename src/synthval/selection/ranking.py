"""Rank preservation (Shoshan et al. 2023 §4.1, Fig. 3): do models rank the same on a selection set as on the
test split?

Three kinds of rows, each per group of the zoo and pooled (group ``all``):

- every selection set (synthetic sets, the augmented training split) ranks the members trained on the
  whole train split against their test errors (Fig. 1, Fig. 3 row 2);
- the real baseline: the val split ranks the members trained on the fit sub-split against their own
  test errors (Fig. 3 row 2, "real data validation set");
- the architecture-ranking shift (Fig. 3 row 3): configurations ranked by their fit members' mean val
  error against their train members' mean test error, what the standard protocol relies on.

Each of the first two kinds answers three questions, each over its own unit (:mod:`synthval.questions`):
*which architecture?* (rho over architecture means), *which hyper-parameters?* (Kendall tau within
architectures) and *which trained model?* (Kendall tau within configurations), and each question row
says whether the run's own design was simulated and the interval held there
(:func:`synthval.simulation.design_holds`). Beside them, the pooled row (``question`` ``pooled``) ranks
*configurations* (architecture x variant, each the mean over its seeds on both sets) as if they were
independent: configurations of one architecture err alike, so it is a description, never a verdict.
Intervals, p-values and the sizes they need are :mod:`synthval.inference`'s and
:mod:`synthval.questions`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from synthval.inference import MIN_CONFIGURATIONS, configurations_needed, rank_interval
from synthval.questions import STATISTICS, Layout, answer, units_needed
from synthval.simulation import design_holds
from synthval.zoo import parse_model

ALL = "all"  # the pooled zoo, next to its groups
TRAIN_MEMBERS = "train members"
FIT_MEMBERS = "fit members"
CONFIGURATIONS = "configurations (fit on val vs train on test)"
#: the question of the rows that pool configurations as if independent (described, never concluded)
POOLED = "pooled"


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


def class_errors(predictions: pl.DataFrame) -> pl.DataFrame:
    """Per evaluation set and true class: the mean over models (each at its last epoch) of the model's
    error on that class's images, with the number of models and images behind it."""
    last = predictions.filter(pl.col("epoch") == pl.col("epoch").max().over("model"))
    per_model = last.group_by("model", "eval_set", "label").agg(
        error=(pl.col("prediction") != pl.col("label")).mean(), images=pl.len()
    )
    return (
        per_model.group_by("eval_set", "label")
        .agg(pl.col("error").mean(), models=pl.len(), images=pl.col("images").max())
        .sort("eval_set", "label")
    )


def with_members(
    errors: pl.DataFrame, groups: Mapping[str, str] | None = None, families: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """``errors`` plus the member's ``config`` (architecture-variant), ``seed``, training ``split`` and
    ``group`` (``groups``: architecture -> group; without it every member is in one group), and the
    ``arch`` and ``variant`` the three questions count (:mod:`synthval.questions`): a member whose
    architecture ``families`` names (an imported pretrained model) counts as a variant of its family."""
    names = errors["model"].unique().sort().to_list()
    members = [parse_model(n) for n in names]
    families = families or {}
    lookup = pl.DataFrame(
        {
            "model": names,
            "config": [f"{m.arch}-{m.variant}" for m in members],
            "arch": [families.get(m.arch, m.arch) for m in members],
            "variant": [m.arch if m.arch in families else m.variant for m in members],
            "seed": [m.seed for m in members],
            "split": [m.split for m in members],
            "group": [(groups or {}).get(m.arch, ALL) for m in members],
        }
    )
    return errors.join(lookup, on="model", how="left")


def group_names(table: pl.DataFrame) -> list[str]:
    """``all``, then the table's groups when there is more than one."""
    named = sorted(set(table["group"].to_list()) - {ALL})
    return [ALL, *named] if len(named) > 1 else [ALL]


def in_group(table: pl.DataFrame, group: str) -> pl.DataFrame:
    return table if group == ALL else table.filter(pl.col("group") == group)


def rank_statistic(a: np.ndarray, b: np.ndarray, kind: str = "spearman") -> float:
    """Spearman's rho (or Kendall's tau, ``kind="kendall"``) of ``a`` against ``b``; NaN where it is
    undefined: fewer than 3 points, or either side constant."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float((stats.spearmanr if kind == "spearman" else stats.kendalltau)(a, b)[0])


def configuration_means(x: np.ndarray, y: np.ndarray, configs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per configuration (in sorted order), the mean of ``x`` and of ``y`` over its members (seeds)."""
    configs = np.asarray(configs)
    names = np.unique(configs)
    return (
        np.array([np.mean(x[configs == c]) for c in names]),
        np.array([np.mean(y[configs == c]) for c in names]),
    )


def correlation_row(x: np.ndarray, y: np.ndarray, configs: np.ndarray, seed: int) -> dict[str, Any]:
    """Spearman's rho and Kendall's tau over configurations of ``x`` against ``y`` (members' values,
    averaged over each configuration's seeds first), with rho's Fisher-z interval and exact permutation
    p-value (:mod:`synthval.inference`), and the configurations a verdict on a rho this size would need."""
    cx, cy = configuration_means(x, y, configs)
    rho = rank_interval(cx, cy, seed)
    return {
        "spearman": rho.estimate,
        "kendall": rank_statistic(cx, cy, "kendall"),
        "spearman_low": rho.low,
        "spearman_high": rho.high,
        "p_value": rho.p_value,
        "interval": rho.method,
        "interval_unit": rho.unit,
        "configs_needed": configurations_needed(rho.estimate),
        "question": POOLED,
        "statistic": "Spearman rho over configurations",
        "n_units": len(cx),
    }


def design_text(units: int, variants: int, seeds: int, crossed: bool) -> str:
    """A layout (:meth:`synthval.questions.Layout.describe`) in words: architectures x variants x seeds,
    and whether the variants are crossed."""
    return (
        f"{units} architecture{'s' if units != 1 else ''} x {variants} variant{'s' if variants != 1 else ''}"
        f" x {seeds} seed{'s' if seeds != 1 else ''}" + (", crossed" if crossed and variants > 1 else "")
    )


def question_rows(
    x: np.ndarray, y: np.ndarray, layout: Layout, seed: int, checks: dict | None = None
) -> list[dict[str, object]]:
    """One row per question (:mod:`synthval.questions`) for errors ``x`` on a set against test errors
    ``y``, with whether the run's own design was simulated and held (:func:`synthval.simulation.design_holds`;
    ``checks`` caches it by design)."""
    checks = {} if checks is None else checks
    rows = []
    described = layout.describe()
    design = design_text(*described)
    shape = tuple(sorted(np.unique(layout.unit, return_counts=True)[1].tolist()))
    for question, a in answer(x, y, layout, seed).items():
        holds = None
        if a.low == a.low:
            key = (question, *described, shape)
            if key not in checks:
                checks[key] = design_holds(question, layout, seed=seed % 2**31)
            holds = checks[key]
        rows.append(
            {
                "spearman": a.estimate,
                "kendall": float("nan"),
                "spearman_low": a.low,
                "spearman_high": a.high,
                "p_value": a.p_value,
                "interval": a.method,
                "interval_unit": a.unit,
                "configs_needed": None,
                "question": question,
                "statistic": STATISTICS[question],
                "n_units": a.n,
                "se": a.se,
                "scale": a.scale,
                "df": a.df,
                "pairs": a.pairs,
                "disjoint": a.disjoint,
                "design": design,
                "design_holds": holds,
                "units_needed": units_needed(a),
            }
        )
    return rows


SCHEMA = {
    "eval_set": pl.String,
    "ranked": pl.String,
    "group": pl.String,
    "reference": pl.String,
    "n_models": pl.Int64,
    "n_configs": pl.Int64,
    "spearman": pl.Float64,
    "kendall": pl.Float64,
    "spearman_low": pl.Float64,
    "spearman_high": pl.Float64,
    "p_value": pl.Float64,
    "interval": pl.String,
    "interval_unit": pl.String,
    "configs_needed": pl.Int64,
    "question": pl.String,
    "statistic": pl.String,
    "n_units": pl.Int64,
    "se": pl.Float64,
    "scale": pl.String,
    "df": pl.Int64,
    "pairs": pl.Int64,
    "disjoint": pl.Boolean,
    "design": pl.String,
    "design_holds": pl.Boolean,
    "units_needed": pl.Int64,
}


def rank_correlation(
    errors: pl.DataFrame,
    groups: Mapping[str, str] | None = None,
    reference: str = "test",
    seed: int = 0,
    families: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Spearman's rho and Kendall's tau of every selection set, the val baseline and the architecture
    shift (see the module docstring), at each model's last saved epoch (the model a user would
    deploy), per group and pooled: the three questions (:func:`question_rows`; ``families``: imported
    model -> family, see :func:`with_members`) and the rho over configurations (:func:`correlation_row`)."""
    members = with_members(last_epoch(errors), groups, families)
    if reference not in members["eval_set"].unique().to_list():
        raise ValueError(
            f"no errors on the reference set {reference!r}; have {sorted(members['eval_set'].unique().to_list())}"
        )
    wide = members.pivot(
        on="eval_set", index=["model", "config", "arch", "variant", "seed", "split", "group"], values="error"
    ).sort("model")
    train, fit = wide.filter(pl.col("split") == "train"), wide.filter(pl.col("split") == "fit")
    sets = sorted(
        c
        for c in train.columns
        if c not in ("model", "config", "arch", "variant", "seed", "split", "group", reference, "val")
        and train[c].is_not_null().any()
    )
    rows = []
    checks: dict = {}

    def add(table: pl.DataFrame, x: str, y: str, eval_set: str, ranked: str) -> None:
        for group in group_names(wide):
            pair = in_group(table, group).drop_nulls([x, y])
            head = {
                "eval_set": eval_set,
                "ranked": ranked,
                "group": group,
                "reference": reference,
                "n_models": pair.height,
                "n_configs": pair["config"].n_unique(),
            }
            row = correlation_row(pair[x].to_numpy(), pair[y].to_numpy(), pair["config"].to_numpy(), seed)
            rows.append({**head, **row})
            if ranked != CONFIGURATIONS and pair.height:
                layout = Layout.of(pair["arch"].to_list(), pair["variant"].to_list(), pair["seed"].to_list())
                found = question_rows(pair[x].to_numpy(), pair[y].to_numpy(), layout, seed, checks)
                rows.extend({**head, **q} for q in found)

    for eval_set in sets:
        add(train, eval_set, reference, eval_set, TRAIN_MEMBERS)
    if "val" in fit.columns and fit.height:
        add(fit, "val", reference, "val", FIT_MEMBERS)
        shift = (
            fit.group_by("config", "group")
            .agg(pl.col("val").mean())
            .join(train.group_by("config").agg(pl.col(reference).mean()), on="config")
            .sort("config")
        )
        add(shift, "val", reference, "val", CONFIGURATIONS)
    return pl.DataFrame(rows, schema=SCHEMA)


def pooled_note(rank: pl.DataFrame, eval_set: str, ranked: str = TRAIN_MEMBERS) -> str | None:
    """Whether a pooled rho is carried by differences between groups or hides one, from intervals:
    a group *hidden* by the pool has its whole interval below 0 while the pool's lies above 0; the pool
    is *carried by differences between groups* when every group's whole interval lies below the pool's.
    Only groups with :data:`synthval.inference.MIN_CONFIGURATIONS` count; ``None`` otherwise."""
    rows = rank.filter(pl.col("eval_set") == eval_set, pl.col("ranked") == ranked, pl.col("question") == POOLED)
    pooled = rows.filter(pl.col("group") == ALL)
    parts = rows.filter(
        pl.col("group") != ALL, pl.col("n_configs") >= MIN_CONFIGURATIONS, pl.col("spearman_high").is_not_nan()
    )
    if pooled.is_empty() or parts.is_empty() or np.isnan(pooled["spearman_low"][0]):
        return None
    rho, low = pooled["spearman"][0], pooled["spearman_low"][0]
    hidden = parts.filter(pl.col("spearman_high") < 0)["group"].to_list()
    if low > 0 and hidden:
        return (
            f"the pooled rho hides the {', '.join(hidden)} group{'s' if len(hidden) > 1 else ''}, whose interval "
            "lies below 0"
        )
    if parts.height > 1 and (parts["spearman_high"] < low).all():
        return (
            "the pooled rho is carried by differences between groups: every group's interval lies below the "
            f"pooled rho's interval (pooled {rho:.2f})"
        )
    return None


def rank_by_size(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> pl.DataFrame:
    """Spearman's rho of every evaluation set on every training set, one row per (set, training-set
    size), smallest training set first: how rank preservation changes with the amount of real data."""
    frames = [
        rank.filter(pl.col("group") == ALL, pl.col("question") == POOLED)
        .select("eval_set", "ranked", "n_models", "spearman", "spearman_low", "spearman_high")
        .with_columns(trainset=pl.lit(t), train_images=pl.lit(sizes[t], pl.Int64))
        for t, rank in ranks.items()
        if t in sizes
    ]
    return (
        pl.concat(frames)
        .select(
            "eval_set", "ranked", "trainset", "train_images", "n_models", "spearman", "spearman_low", "spearman_high"
        )
        .sort("eval_set", "ranked", "train_images")
    )
