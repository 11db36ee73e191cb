"""Inference that earns a verdict: every interval and test the report concludes from, and the sizes from
which they hold, as measured by simulation with a known truth (``bench/coverage.py``; its table is
``bench/results/coverage.md``, and its generating models are written there).

- **Rank agreement** (Shoshan et al. 2023 §4.1): Spearman's rho over *configurations* (architecture x variant), each
  configuration's error the mean over its seeds on both sets. Seeds of one configuration are near
  duplicates; ranking single models lets seed noise decide ties between copies of one configuration.
  Its 95% interval is Fisher's z with Bonett & Wright's (2000) variance ``(1 + r^2/2) / (n - 3)``
  (Psychometrika 65:23-28), and its test of rho = 0 an exact permutation test of the pairing
  (:func:`permutation_p`). The estimand is the rank correlation, over the population of configurations,
  of their seed-mean errors; seed noise pulls it below the correlation of the configurations' expected
  errors, so verdicts err towards "inconclusive", never towards a false one.
- **A mean of paired differences** (a protocol against its baseline, per configuration; a training
  method against real-only training, per seed): Student's t over the units (:func:`mean_interval`).
- **Two correlations that share the test errors** (calibrated against uncalibrated synthetic errors): Zou's
  (2007) interval for the difference of overlapping correlations (Psychological Methods 12:399-413),
  built from the two Fisher intervals and their correlation (:func:`correlation_difference`).
- **Multiplicity**: Holm's (1979) step-down adjustment over the verdicts of one report (:func:`holm`).

:data:`MIN_CONFIGURATIONS` and :data:`MIN_UNITS` are the smallest sizes at which the benchmark found
every cell covering at least 93% and drawing a verdict under no effect at most 5% of the time; below them
the report gives no verdict and says how many configurations it needs. The exact permutation test adds
a floor of its own: 4 configurations can never reach p <= 0.05 (the smallest two-sided p is 1/12), and
after the Holm correction over a report's tests a ranking needs more still; the report says how many
configurations a ranking of the rho it saw would need (:func:`configurations_needed`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

CONFIGURATIONS = "configurations"
SEEDS = "training seeds"
LEVEL = 0.95
ALPHA = 1 - LEVEL
FISHER = "Fisher z, Bonett-Wright variance"
STUDENT = "Student t"
HALL = "Student t after Hall's (1992) skewness transformation"
SIGN_FLIP = "no spread: the mean, with the exact sign-flip p"
#: Paired means use Hall's transformation from this many units (below it, plain Student t).
HALL_FROM = 8
ZOU = "Zou (2007) difference of overlapping correlations"
PERMUTATION = "exact permutation test of the pairing"
NO_INTERVAL = "none"

#: Rank verdicts need this many configurations: bench/results/coverage.md finds every cell from here on
#: (true rho 0, 0.5, 0.8; 1-3 seeds) covering >= 93% and excluding 0 under rho = 0 <= 5% of the time. The
#: interval is defined from 4; the permutation test adds its own floor (:data:`SMALLEST_TESTABLE`).
MIN_CONFIGURATIONS = 4
#: The fewest configurations whose exact permutation test can reach p <= 0.05 at all (a perfect ranking
#: of n has p = 2 / n!): 5, where p = 1/60.
SMALLEST_TESTABLE = next(n for n in range(3, 20) if 2 / math.factorial(n) <= 0.05)
#: Verdicts on a mean of paired differences need this many units (architectures or seeds): the benchmark's
#: smallest size from which the interval holds under normal and under skewed (gamma, skewness 1) differences.
#: Below it, Student's t runs one tail at about twice its nominal 2.5% under that skew; the report gives the
#: difference and its interval as a description, without a verdict.
MIN_UNITS = 10
#: Random pairings in the permutation test above the size where all n! are enumerated.
PERMUTATIONS = 9999
EXACT_UP_TO = 7  # 7! = 5,040 pairings


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval, how it was made, over which unit, its p-value against no effect
    (rho = 0, or a difference of 0), and the number of units behind it."""

    estimate: float
    low: float
    high: float
    p_value: float
    n: int
    method: str
    unit: str = CONFIGURATIONS

    @property
    def defined(self) -> bool:
        return self.low == self.low


def _ranks(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=-1)


def _correlate(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson's r of ``rx`` (rows) against ``ry``: Spearman's rho on ranks, with average ranks for ties."""
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    return (rx * ry).sum(axis=-1) / np.sqrt((rx**2).sum(axis=-1) * (ry**2).sum(axis=-1))


def spearman(x: ArrayLike, y: ArrayLike) -> float:
    """Spearman's rho; NaN with fewer than 3 points or either side constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(_correlate(_ranks(x), _ranks(y)))


def permutation_p(x: ArrayLike, y: ArrayLike, seed: int, resamples: int = PERMUTATIONS) -> float:
    """Two-sided p-value of Spearman's rho = 0 by permuting the pairing of ``x`` with ``y``: all n!
    pairings up to :data:`EXACT_UP_TO` points (an exact p), else ``resamples`` random ones counted with
    the observed pairing (Phipson & Smyth 2010), so a p-value is never 0. With 3 points and a perfect
    ranking it is 1/3, the exact two-sided value."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    observed = spearman(x, y)
    if observed != observed:
        return math.nan
    rx, ry = _ranks(x), _ranks(y)
    orders, exact = permutation_orders(len(x), np.random.default_rng(seed), resamples)
    return permutation_p_value(_correlate(rx[orders], ry), observed, exact)


def permutation_orders(n: int, rng: np.random.Generator, resamples: int = PERMUTATIONS) -> tuple[np.ndarray, bool]:
    """The orders of ``n`` labels a permutation test tries: all n! up to :data:`EXACT_UP_TO` (``True``: the
    test is exact), else ``resamples`` random ones from ``rng``."""
    if n <= EXACT_UP_TO:
        return np.array(list(itertools.permutations(range(n)))), True
    return rng.random((resamples, n)).argsort(axis=1), False


def permutation_p_value(null: np.ndarray, observed: float, exact: bool) -> float:
    """Two-sided p-value of ``observed`` against its permutation ``null``: the share as extreme when the
    orders were all of them, else counted with the observed arrangement (Phipson & Smyth 2010), never 0."""
    hits = np.sum(np.abs(null) >= abs(observed) - 1e-12)
    return float(hits / len(null)) if exact else float((1 + hits) / (1 + len(null)))


def fisher_bounds(r: np.ndarray | float, n: int, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """The Fisher-z interval of Spearman's ``r`` (an array, or one value) over ``n`` >= 4 points with
    Bonett & Wright's variance ``(1 + r^2/2) / (n - 3)``. A perfect ranking has an infinite z: it is
    taken halfway to the nearest rho ``n`` points can reach (one adjacent swap, ``1 - 12 / (n (n^2 - 1))``),
    so the interval of 4 perfectly ranked configurations still reaches below 0 instead of being [1, 1]."""
    r = np.asarray(r, float)
    limit = 1 - 6 / (n * (n * n - 1))
    z = np.arctanh(np.clip(r, -limit, limit))
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt((1 + r * r / 2) / (n - 3))
    return np.tanh(z - half), np.tanh(z + half)


def _fisher_bounds(r: float, n: int, level: float) -> tuple[float, float]:
    low, high = fisher_bounds(r, n, level)
    return float(low), float(high)


def rank_interval(x: ArrayLike, y: ArrayLike, seed: int, level: float = LEVEL) -> Interval:
    """Spearman's rho of ``x`` against ``y`` (one value per configuration) with its Fisher-z interval
    (Bonett-Wright variance; none below 4 configurations, where it is undefined) and its permutation
    p-value (:func:`permutation_p`)."""
    n = np.size(x)
    r = spearman(x, y)
    if r != r:
        return Interval(math.nan, math.nan, math.nan, math.nan, n, NO_INTERVAL)
    p = permutation_p(x, y, seed)
    if n < 4:
        return Interval(r, math.nan, math.nan, p, n, NO_INTERVAL)
    low, high = _fisher_bounds(r, n, level)
    return Interval(r, low, high, p, n, FISHER)


def _hall_inverse(g: float, gamma: float, n: int) -> float:
    """The inverse of Hall's (1992) transformation ``g(t) = t + gamma t^2 / 3 + gamma^2 t^3 / 27 +
    gamma / (6 n)`` of a standardised mean ``t = (mean - mu) / sd``: monotone, so its inverse is exact."""
    if abs(gamma) < 1e-9:
        return g - gamma / (6 * n)
    return 3 / gamma * (float(np.cbrt(1 + gamma * (g - gamma / (6 * n)))) - 1)


def _hall(t: float, gamma: float, n: int) -> float:
    return t + gamma * t * t / 3 + gamma * gamma * t**3 / 27 + gamma / (6 * n)


def mean_interval(values: ArrayLike, unit: str = CONFIGURATIONS, level: float = LEVEL) -> Interval:
    """The mean of ``values`` (one per unit) with its interval and two-sided p-value against 0. From
    :data:`HALL_FROM` units, Student's t after Hall's (1992) transformation, which removes the skewness of
    the standardised mean (J. R. Stat. Soc. B 54:221-228; the interval of Zhou & Gao 2000) with the sample
    skewness: differences of accuracies over seeds or of errors over units are often skewed, and plain t
    runs one tail at 2-4x nominal there (``bench/results/coverage.md``). Below it the sample skewness is
    too noisy to correct with (the transformation then widens intervals at random) and plain Student t is
    used; the benchmark gives both regimes' rates under skewed noise. No interval with fewer than two
    values; where every value is equal the interval is that value and the p-value the exact sign-flip one
    (2 / 2^n for a non-zero mean, 1 for zero), never 0."""
    v = np.asarray(values, float)
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0, NO_INTERVAL, unit)
    mean = float(v.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, math.nan, n, NO_INTERVAL, unit)
    sd = float(v.std(ddof=1))
    if np.ptp(v) == 0:
        mean = float(v[0])
        return Interval(mean, mean, mean, 1.0 if mean == 0 else min(1.0, 2 / 2**n), n, SIGN_FLIP, unit)
    if n < HALL_FROM:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
        p = float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
        return Interval(mean, mean - half, mean + half, p, n, STUDENT, unit)
    gamma = float(np.mean((v - mean) ** 3)) / float(v.std(ddof=0)) ** 3
    q = float(stats.t.ppf(0.5 + level / 2, n - 1)) / math.sqrt(n)
    low = mean - sd * _hall_inverse(q, gamma, n)
    high = mean - sd * _hall_inverse(-q, gamma, n)
    statistic = math.sqrt(n) * _hall(mean / sd, gamma, n)
    p = float(2 * stats.t.sf(abs(statistic), n - 1))
    return Interval(mean, low, high, p, n, HALL, unit)


def _zou_bounds(r12: float, r13: float, r23: float, n: int, level: float) -> tuple[float, float]:
    l1, u1 = _fisher_bounds(r12, n, level)
    l2, u2 = _fisher_bounds(r13, n, level)
    c = ((r23 - r12 * r13 / 2) * (1 - r12**2 - r13**2 - r23**2) + r23**3) / max((1 - r12**2) * (1 - r13**2), 1e-12)
    d = r12 - r13
    low = d - math.sqrt(max((r12 - l1) ** 2 + (u2 - r13) ** 2 - 2 * c * (r12 - l1) * (u2 - r13), 0.0))
    high = d + math.sqrt(max((u1 - r12) ** 2 + (r13 - l2) ** 2 - 2 * c * (u1 - r12) * (r13 - l2), 0.0))
    return low, high


def correlation_difference(test: ArrayLike, a: ArrayLike, b: ArrayLike, level: float = LEVEL) -> Interval:
    """rho(a, test) - rho(b, test), the two rank correlations sharing ``test`` (one value per
    configuration), with Zou's (2007) interval built from the Fisher intervals; its p-value is the
    level at which that interval just reaches 0 (found by bisection), so the two never disagree."""
    n = np.size(test)
    r12, r13, r23 = spearman(a, test), spearman(b, test), spearman(a, b)
    if any(r != r for r in (r12, r13, r23)):
        return Interval(math.nan, math.nan, math.nan, math.nan, n, NO_INTERVAL)
    if n < 4:
        return Interval(r12 - r13, math.nan, math.nan, math.nan, n, NO_INTERVAL)
    low, high = _zou_bounds(r12, r13, r23, n, level)
    if r12 == r13:
        p = 1.0
    else:
        lo, hi = 1e-12, 1 - 1e-12  # confidence levels: the interval at ``lo`` excludes 0, at ``hi`` it may not
        for _ in range(60):
            mid = (lo + hi) / 2
            a_low, a_high = _zou_bounds(r12, r13, r23, n, mid)
            lo, hi = (mid, hi) if a_low > 0 or a_high < 0 else (lo, mid)
        p = 1 - lo
    return Interval(r12 - r13, low, high, p, n, ZOU)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's (1979) step-down adjusted p-values (NaN entries are left out and stay NaN): a verdict
    whose adjusted p-value is at most 0.05 keeps the family-wise error rate of all of them at 5%."""
    p = np.asarray(p_values, float)
    index = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(len(p), math.nan)
    order = index[np.argsort(p[index], kind="stable")]
    m = len(order)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def configurations_needed(rho: float) -> int | None:
    """How many configurations would settle a ranking seen at ``rho``: as many as make the Fisher interval
    around the same rho exclude 0, and never fewer than :data:`MIN_CONFIGURATIONS` or
    :data:`SMALLEST_TESTABLE`; ``None`` where no number would (rho 0, or undefined)."""
    if rho != rho or rho == 0:
        return None
    floor = max(MIN_CONFIGURATIONS, SMALLEST_TESTABLE)
    if abs(rho) >= 1:
        return floor
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    return max(floor, math.ceil(3 + z * z * (1 + rho * rho / 2) / math.atanh(rho) ** 2))


def configurations_for_half_width(n: int) -> int:
    """Configurations that make the Fisher interval half as wide as it is with ``n`` (its width goes
    as 1 / sqrt(n - 3))."""
    return 3 + 4 * max(n - 3, 1)
