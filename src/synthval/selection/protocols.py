"""Model-selection protocols of Shoshan et al. 2023 §4.2 on an errors table (model, epoch, eval_set, error).

Every protocol picks models by their error on a *selection set* (a synthetic set, or the real ``val``
split for the standard protocol) and is scored by the **test** error of what it picked; the test split
is only ever read to score, never to choose (except by the oracle, which is the lower bound).

- ES (early stopping): per training run, the saved epoch with the lowest selection error.
- RSS (random-seed selection): per configuration (architecture x variant), the seed with the lowest
  selection error at the last epoch.
- ES + RSS: per configuration, the (seed, epoch) with the lowest selection error.
- HPS (the synthetic protocol of §4.2.3): over every model and epoch, the one with the lowest
  selection error.
- Baselines: the last epoch of a random seed (ES/RSS tables), a random model (HPS), the standard
  protocol (pick the configuration with the lowest mean ``val`` error among the members trained on the
  ``fit`` sub-split, report the mean test error of that configuration trained on the whole train
  split, §4.2.3 step 3) and the oracle (lowest test error).

ES, RSS and ES + RSS are compared with the last-epoch baseline as paired differences, one per
*architecture* (an ES difference is first averaged over a configuration's runs, then every difference over
the architecture's configurations: configurations of one architecture err alike, so they are not
independent units, :mod:`synthval.questions`), with the interval and p-value of
:func:`synthval.inference.mean_interval` over architectures: it generalises to new architectures scored on
this test split, so test-image sampling noise is not in it. The HPS
protocols pick one model from the whole pool, so one zoo holds one replicate of them: their ranges over
configuration resamples (``repeats``, seeded; the paired ``synthetic minus standard`` runs both protocols
on the same resamples) are labelled as the sensitivity to the configuration pool they are, and no verdict
is drawn from them. Ties in a selection error are broken towards the later epoch, then by model name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from synthval.inference import CONFIGURATIONS, mean_interval
from synthval.selection.ranking import group_names, in_group, last_epoch, with_members
from synthval.zoo import architecture_of

PERCENTILE = "percentile bootstrap over configurations"
POOL_SENSITIVITY = (
    "percentile range over configuration resamples (sensitivity to the configuration pool, not a confidence interval)"
)
#: the unit of the ES / RSS differences' intervals, and what it leaves out
PAIRED_UNIT = "architectures (test images fixed: test-image sampling noise not included)"


def by_architecture(config: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The mean of ``values`` (one per configuration ``<arch>-<variant>``) over each architecture's
    configurations, architectures in sorted order."""
    _names, index = np.unique([architecture_of(c) for c in config], return_inverse=True)
    return np.bincount(index, values) / np.bincount(index)


__all__ = [
    "early_stopping",
    "es_rss_table",
    "hps_table",
    "protocol_tables",
    "seed_selection",
    "summaries_frame",
    "with_members",
]


def _wide(errors: pl.DataFrame, selection: str) -> pl.DataFrame:
    """Rows (model, config, seed, epoch) with the selection error ``sel`` and the ``test`` error, of
    the members trained on the whole train split."""
    if selection == "test":
        raise ValueError("the test split only scores: it cannot be a selection set (rename the set called 'test')")
    e = with_members(errors).filter(pl.col("split") == "train")
    wide = e.filter(pl.col("eval_set").is_in([selection, "test"])).pivot(
        on="eval_set", index=["model", "config", "seed", "epoch"], values="error"
    )
    if selection not in wide.columns:
        raise ValueError(f"no errors on the selection set {selection!r}")
    return wide.rename({selection: "sel"})


def _in_pick_order(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame``'s rows from the first a protocol would pick: the lowest ``sel``, then the later epoch, then
    the model name."""
    return frame.sort(["sel", "epoch", "model"], descending=[False, True, False])


def _pick(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group ``by``, the row with the lowest ``sel`` (ties: later epoch, then model name), whatever
    the row order."""
    ordered = _in_pick_order(frame)
    return ordered.group_by(by, maintain_order=True).first() if by else ordered.head(1)


def early_stopping(errors: pl.DataFrame, selection: str) -> pl.DataFrame:
    """Per training run: test error at the last epoch (baseline), at the epoch ES picks, and the best."""
    wide = _wide(errors, selection)
    last = last_epoch(wide).select("model", "config", baseline=pl.col("test"))
    picked = _pick(wide, ["model"]).select("model", chosen=pl.col("test"), chosen_epoch=pl.col("epoch"))
    best = wide.group_by("model").agg(oracle=pl.col("test").min())
    return last.join(picked, on="model").join(best, on="model").sort("model")


def seed_selection(errors: pl.DataFrame, selection: str, early_stop: bool = False) -> pl.DataFrame:
    """Per configuration: mean test error over seeds at the last epoch (baseline), the test error of
    the seed RSS picks (at the last epoch, or at its best epoch with ``early_stop``), and the best."""
    wide = _wide(errors, selection)
    last = last_epoch(wide)
    pool = wide if early_stop else last
    baseline = last.group_by("config").agg(baseline=pl.col("test").mean())
    picked = _pick(pool, ["config"]).select(
        "config", chosen=pl.col("test"), chosen_model=pl.col("model"), chosen_epoch=pl.col("epoch")
    )
    best = pool.group_by("config").agg(oracle=pl.col("test").min())
    return baseline.join(picked, on="config").join(best, on="config").sort("config")


@dataclass(frozen=True)
class Summary:
    protocol: str
    selection: str  # the set that chose: a synthetic set, val, test (oracle) or none (random)
    test_error: float  # mean test error of what the protocol picked (a difference for the paired row)
    low: float
    high: float
    regret: float  # test_error minus the oracle's
    units: int  # runs or configurations averaged over
    interval: str  # how low/high were made (synthval.inference, or a sensitivity range)
    interval_unit: str = CONFIGURATIONS
    chosen: str = ""  # what the protocol picked on the whole pool (HPS: model@epoch; standard: configuration)
    p_value: float = float("nan")  # against no difference, for the paired differences with a verdict


def es_rss_table(errors: pl.DataFrame, selection: str) -> list[Summary]:
    """Table 1 of Shoshan et al. 2023: baseline, ES, RSS and ES + RSS, each the mean test error over configurations
    (an ES figure first averaged over a configuration's runs) with its t-interval, its regret against
    choosing by the test split, and each protocol minus the baseline, paired by configuration and averaged
    over each architecture's, with its interval and p-value over architectures (:data:`PAIRED_UNIT`)."""
    es = (
        early_stopping(errors, selection)
        .group_by("config")
        .agg(pl.col("baseline", "chosen", "oracle").mean())
        .sort("config")
    )
    rss = seed_selection(errors, selection)
    both = seed_selection(errors, selection, early_stop=True)
    rows = []
    for name, table, column in (
        ("baseline (last epoch, any seed)", rss, "baseline"),
        ("ES", es, "chosen"),
        ("RSS", rss, "chosen"),
        ("ES + RSS", both, "chosen"),
    ):
        values = table[column].to_numpy()
        ci = mean_interval(values)
        regret = float(values.mean() - table["oracle"].to_numpy().mean())
        source = selection if column == "chosen" else "none"
        rows.append(Summary(name, source, ci.estimate, ci.low, ci.high, regret, ci.n, ci.method))
        if column == "chosen":
            paired = mean_interval(by_architecture(table["config"].to_numpy(), values - table["baseline"].to_numpy()))
            rows.append(
                Summary(
                    f"{name} minus baseline",
                    f"{selection} vs none",
                    paired.estimate,
                    paired.low,
                    paired.high,
                    float("nan"),
                    paired.n,
                    paired.method,
                    PAIRED_UNIT,
                    p_value=paired.p_value,
                )
            )
    return rows


_Draw = Callable[[list[str]], tuple[dict[str, float], dict[str, str]]]


def _hps_protocols(errors: pl.DataFrame, selection: str) -> tuple[list[str], _Draw]:
    """The configurations, and the HPS protocols run on a draw of them (with replacement): each protocol's test
    error and what it chose. A draw works on index arrays, not frames: the rows are sorted once in the order
    a pick takes (lowest ``sel``, then the later epoch, then the model name; a pool's first row in it is its
    pick), and the configurations once by their mean ``val`` error (the standard protocol's, §4.2.3 step 3:
    the first of the draw in that order)."""
    e = with_members(errors)
    train = _wide(errors, selection)
    configs = sorted(train["config"].unique().to_list())
    fit = last_epoch(e.filter(pl.col("split") == "fit", pl.col("eval_set") == "val"))
    last = last_epoch(train)
    # the random model's error is a mean over models, so a configuration drawn twice counts twice
    per_config = {
        c: (total, n) for c, total, n in last.group_by("config").agg(pl.col("test").sum(), pl.len()).iter_rows()
    }
    index = {c: i for i, c in enumerate(configs)}
    ordered = _in_pick_order(train)
    row_config = np.array([index[c] for c in ordered["config"]], dtype=np.int64)
    row_test = ordered["test"].to_numpy()
    rows = ordered.select("model", "epoch", "test").rows()
    means = fit.group_by("config").agg(val=pl.col("error").mean()).sort("val", "config")
    by_val = [c for c in means["config"] if c in index]
    standard_of = {c: float(last.filter(pl.col("config") == c)["test"].to_numpy().mean()) for c in by_val}

    def run(draw: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        drawn = np.zeros(len(configs), dtype=bool)
        drawn[[index[c] for c in draw]] = True
        in_pool = drawn[row_config]
        random = sum(per_config[c][0] for c in draw) / sum(per_config[c][1] for c in draw)
        model, epoch, test = rows[int(np.argmax(in_pool))]
        out = {
            "random model": float(random),
            "synthetic protocol": float(test),
            "oracle": float(row_test[in_pool].min()),
        }
        chosen = {"synthetic protocol": f"{model} epoch {epoch}"}
        standard = next((c for c in by_val if drawn[index[c]]), None)
        if standard is not None:
            out["standard protocol"] = standard_of[standard]
            out["synthetic minus standard"] = out["synthetic protocol"] - out["standard protocol"]
            chosen["standard protocol"] = standard
        return out, chosen

    return configs, run


def hps_table(errors: pl.DataFrame, selection: str, repeats: int = 1000, seed: int = 0) -> list[Summary]:
    """Table 2 of Shoshan et al. 2023 (§4.2.3): random model, standard protocol, synthetic protocol and oracle
    over every configuration, and the paired difference synthetic minus standard protocol. Each repeat
    draws the configurations with replacement and runs every protocol on that draw (a configuration
    drawn twice weighs twice in the random model's mean; the minima the other protocols take are
    unchanged by it). The random model's range is a percentile bootstrap of a mean; the others are
    minima over the pool, so their ranges are labelled as sensitivity to the configuration pool."""
    configs, run = _hps_protocols(errors, selection)
    point, chosen = run(configs)
    rng = np.random.default_rng(seed)
    draws = [run(rng.choice(configs, len(configs), replace=True).tolist())[0] for _ in range(repeats)]
    sources = {
        "random model": "none",
        "standard protocol": "val",
        "synthetic protocol": selection,
        "oracle": "test",
        "synthetic minus standard": f"{selection} vs val",
    }
    rows = []
    for name in ("random model", "standard protocol", "synthetic protocol", "oracle", "synthetic minus standard"):
        if name not in point:
            continue
        values = np.array([d[name] for d in draws if name in d])
        low, high = (
            (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
            if len(values)
            else (float("nan"),) * 2
        )
        regret = point[name] - point["oracle"] if name != "synthetic minus standard" else float("nan")
        rows.append(
            Summary(
                name,
                sources[name],
                point[name],
                low,
                high,
                regret,
                len(configs),
                PERCENTILE if name == "random model" else POOL_SENSITIVITY,
                chosen=chosen.get(name, ""),
            )
        )
    return rows


def protocol_tables(
    errors: pl.DataFrame, selection: str, groups: Mapping[str, str] | None = None, repeats: int = 1000, seed: int = 0
) -> pl.DataFrame:
    """ES/RSS and HPS tables of one selection set for the pooled zoo (group ``all``) and each group."""
    members = with_members(errors, groups)
    frames = []
    for group in group_names(members):
        part = errors.join(in_group(members, group).select("model").unique(), on="model", how="semi")
        if part.filter(pl.col("eval_set") == selection).is_empty():
            continue
        rows = es_rss_table(part, selection) + hps_table(part, selection, repeats, seed)
        frames.append(summaries_frame(rows, eval_set=selection, group=group))
    return pl.concat(frames)


def summaries_frame(rows: list[Summary], **columns: str) -> pl.DataFrame:
    return pl.DataFrame([{**columns, **r.__dict__} for r in rows])
