"""Model-selection protocols of seed 000 §4.2 on an errors table (model, epoch, eval_set, error).

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

Intervals are 95% percentile bootstraps over configurations (``repeats`` resamples, seeded).
Ties in a selection error are broken towards the later epoch, then the lower seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthval.selection.ranking import last_epoch
from synthval.zoo import parse_model


def with_members(errors: pl.DataFrame) -> pl.DataFrame:
    """``errors`` plus the member's ``config`` (architecture-variant), ``seed`` and training ``split``."""
    names = errors["model"].unique().to_list()
    members = {n: parse_model(n) for n in names}
    lookup = pl.DataFrame({"model": names, "config": [f"{m.arch}-{m.variant}" for m in members.values()],
                           "seed": [m.seed for m in members.values()], "split": [m.split for m in members.values()]})
    return errors.join(lookup, on="model", how="left")


def _wide(errors: pl.DataFrame, selection: str) -> pl.DataFrame:
    """Rows (model, config, seed, epoch) with the selection error ``sel`` and the ``test`` error, of
    the members trained on the whole train split."""
    e = with_members(errors).filter(pl.col("split") == "train")
    wide = e.filter(pl.col("eval_set").is_in([selection, "test"])).pivot(on="eval_set", index=["model", "config", "seed", "epoch"], values="error")
    if selection not in wide.columns:
        raise ValueError(f"no errors on the selection set {selection!r}")
    return wide.rename({selection: "sel"}) if selection != "test" else wide.with_columns(sel=pl.col("test"))


def _pick(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group ``by``, the row with the lowest ``sel`` (ties: later epoch, then lower seed)."""
    ordered = frame.sort(["sel", "epoch", "seed"], descending=[False, True, False])
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
    picked = _pick(pool, ["config"]).select("config", chosen=pl.col("test"), chosen_model=pl.col("model"), chosen_epoch=pl.col("epoch"))
    best = pool.group_by("config").agg(oracle=pl.col("test").min())
    return baseline.join(picked, on="config").join(best, on="config").sort("config")


def _bootstrap(values: np.ndarray, repeats: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` over resamples."""
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (repeats, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass(frozen=True)
class Summary:
    protocol: str
    selection: str  # the set that chose: a synthetic set, val, test (oracle) or none (random)
    test_error: float  # mean test error of what the protocol picked
    low: float
    high: float
    regret: float  # test_error minus the oracle's
    units: int  # runs or configurations averaged over


def es_rss_table(errors: pl.DataFrame, selection: str, repeats: int = 1000, seed: int = 0) -> list[Summary]:
    """Table 1 of seed 000: baseline, ES, RSS and ES + RSS, each the mean test error over runs or
    configurations with a bootstrap interval, and its regret against choosing by the test split."""
    rows = []
    es = early_stopping(errors, selection)
    rss = seed_selection(errors, selection)
    both = seed_selection(errors, selection, early_stop=True)
    for name, table, column in (("baseline (last epoch, any seed)", rss, "baseline"), ("ES", es, "chosen"), ("RSS", rss, "chosen"),
                                ("ES + RSS", both, "chosen")):
        values = table[column].to_numpy()
        low, high = _bootstrap(values, repeats, seed)
        rows.append(Summary(name, selection if column == "chosen" else "none", float(values.mean()), low, high,
                            float(values.mean() - table["oracle"].to_numpy().mean()), len(values)))
    return rows


def hps_table(errors: pl.DataFrame, selection: str, repeats: int = 1000, seed: int = 0) -> list[Summary]:
    """Table 2 of seed 000 (§4.2.3): random model, standard protocol, synthetic protocol and oracle
    over every configuration. Intervals come from resampling configurations: each repeat draws the
    configurations with replacement and runs every protocol on that draw (a configuration drawn twice
    weighs twice in the random model's mean; the minima the other protocols take are unchanged by it)."""
    e = with_members(errors)
    train = _wide(errors, selection)
    configs = sorted(train["config"].unique().to_list())
    fit = last_epoch(e.filter(pl.col("split") == "fit", pl.col("eval_set") == "val"))
    has_standard = fit.height > 0
    last = last_epoch(train)
    # the random model's error is a mean over models, so a configuration drawn twice counts twice
    per_config = {c: (total, n) for c, total, n in last.group_by("config").agg(pl.col("test").sum(), pl.len()).iter_rows()}

    def run(draw: list[str]) -> dict[str, float]:
        pool = train.filter(pl.col("config").is_in(draw))
        random = sum(per_config[c][0] for c in draw) / sum(per_config[c][1] for c in draw)
        out = {"random model": float(random), "synthetic protocol": float(_pick(pool, [])["test"][0]), "oracle": float(pool["test"].min())}
        if has_standard:
            val = fit.filter(pl.col("config").is_in(draw)).group_by("config").agg(val=pl.col("error").mean()).sort("val", "config")
            if val.height:
                out["standard protocol"] = float(last.filter(pl.col("config") == val["config"][0])["test"].mean())
        return out

    point = run(configs)
    rng = np.random.default_rng(seed)
    draws = [run(rng.choice(configs, len(configs), replace=True).tolist()) for _ in range(repeats)]
    sources = {"random model": "none", "standard protocol": "val", "synthetic protocol": selection, "oracle": "test"}
    rows = []
    for name in ("random model", "standard protocol", "synthetic protocol", "oracle"):
        if name not in point:
            continue
        values = np.array([d[name] for d in draws if name in d])
        rows.append(Summary(name, sources[name], point[name], float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)),
                            point[name] - point["oracle"], len(configs)))
    return rows


def summaries_frame(rows: list[Summary], **columns: str) -> pl.DataFrame:
    return pl.DataFrame([{**columns, **r.__dict__} for r in rows])
