"""Intervals over configurations: the unit a selection figure generalises over.

Seeds of one configuration (architecture x variant) are near-duplicates, so resampling single models
treats them as independent evidence and gives intervals that are too narrow. Every interval here draws
whole configurations with replacement (a cluster bootstrap: all seeds of a drawn configuration enter
together) and says which method it used:

- ``BCa bootstrap`` (Efron 1987, through :func:`scipy.stats.bootstrap`; its jackknife leaves out one
  configuration at a time) for smooth statistics: means, rank correlations;
- ``percentile bootstrap`` where BCa is undefined (a degenerate bootstrap distribution);
- argmin/min statistics (the model a protocol picks, the oracle) are not smooth and have no valid
  bootstrap confidence interval; :data:`POOL_SENSITIVITY` labels their percentile ranges for what they
  are: how much the figure moves when the pool of configurations is redrawn.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIGURATIONS = "configurations"
BCA = "BCa bootstrap"
PERCENTILE = "percentile bootstrap"
POOL_SENSITIVITY = (
    "percentile range over configuration resamples (sensitivity to the configuration pool, not a confidence interval)"
)
NO_INTERVAL = "none (fewer than 3 configurations)"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str
    unit: str = CONFIGURATIONS


def cluster_bootstrap(
    statistic: Callable[[np.ndarray], float], clusters: np.ndarray | list, repeats: int, seed: int, level: float = 0.95
) -> Interval:
    """A ``level`` interval of ``statistic(rows)`` (``rows``: indices into the data, the rows of the drawn
    clusters, repeated as often as their cluster is drawn) over ``repeats`` resamples of the clusters.
    BCa where defined, else percentile; none with fewer than 3 clusters or no resamples."""
    clusters = np.asarray(clusters)
    ids = np.unique(clusters)
    rows = [np.flatnonzero(clusters == c) for c in ids]
    if len(ids) < 3 or repeats == 0:
        return Interval(float("nan"), float("nan"), NO_INTERVAL)

    def on(draw: np.ndarray) -> float:
        return float(statistic(np.concatenate([rows[i] for i in draw])))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples: handled below
        with np.errstate(all="ignore"):
            result = stats.bootstrap(
                (np.arange(len(ids)),),
                on,
                n_resamples=repeats,
                vectorized=False,
                method="BCa",
                confidence_level=level,
                rng=np.random.default_rng(seed),
            )
    low, high = map(float, result.confidence_interval)
    if np.isfinite(low) and np.isfinite(high):
        return Interval(low, high, BCA)
    values = result.bootstrap_distribution[np.isfinite(result.bootstrap_distribution)]
    if len(values) == 0:
        return Interval(float("nan"), float("nan"), PERCENTILE)
    tail = (1 - level) / 2 * 100
    return Interval(float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)), PERCENTILE)
