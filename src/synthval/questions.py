"""Three questions a zoo can answer, each over the unit that answers it (Shoshan et al. 2023 §4.1-4.2 ask
all three of a synthetic set; a zoo's structure decides which it can settle).

Zoos are built as architectures x hyper-parameter variants x seeds, or as families of pretrained models.
Configurations of one architecture err alike, so a rho over configurations treated as independent points
gives a verdict far too often under no association at all (``bench/results/coverage.md``, the row
"pooled over configurations"). Each question here is answered over units that *are* independent under the
generating model of :mod:`synthval.simulation`:

- **Which architecture?** (:data:`ARCHITECTURE`) Spearman's rho over *architecture means* (each
  architecture's, or pretrained family's, mean error over its configurations), n = architectures, with
  the Fisher-z interval (Bonett-Wright variance, :func:`synthval.inference.fisher_bounds`) and an exact
  permutation test of the architectures' pairing.
- **Which hyper-parameters?** (:data:`HYPERPARAMETERS`) Agreement *within* architectures: each
  architecture's Kendall tau-a over its variants (the share of variant pairs ordered as test orders them,
  less the share ordered against it; ties count 0), averaged over architectures. Where every architecture
  has the same variants (*crossed*, e.g. ``zoo.variants``), variant effects are shared by every
  architecture, so the permutation test permutes variant labels *jointly* across architectures and the
  interval's variance is the sum of a delete-one-architecture and a delete-one-variant jackknife (the
  two-way random-effects case); else (*nested*: each architecture its own settings, or a pretrained
  family's members) labels are permuted within each architecture and the jackknife is over architectures.
  The interval is Wilson's for the concordant share (1 + tau) / 2, with the effective number of pairs the
  jackknife's standard error implies and a t quantile on (architectures - 1) degrees of freedom, or
  min(architectures, variants) - 1 when crossed.
- **Which trained model (seed)?** (:data:`SEED`) The question random seed selection (RSS) asks: within
  each configuration, do the set's errors order its seeds as test does? Kendall tau-a over the seeds of
  each configuration, averaged over configurations; seed labels are permuted within configurations, and
  the jackknife deletes one architecture at a time (configurations of one architecture may share how well
  the set reads their luck). Here the seed luck a trained model carries onto both sets *is* the signal.

For the first two questions seed luck shared by the two sets is not: a lucky model has a low error on
both, which looks like agreement about its configuration. Where every configuration has two seeds or more,
the set's errors and the test errors come from *disjoint* seeds (the even-indexed and the odd-indexed
seeds of each configuration, both ways round, the two statistics averaged): the answer is then about
configurations alone. With one seed a configuration it cannot be, and the answer says that seed luck
counts (:attr:`Answer.disjoint` is false).

No interval is ever a point: where every unit agrees exactly, the standard error is the one the smallest
disagreement the design can show would give (one pair of one unit turned), and no p-value is 0 (the
permutation tests count the observed arrangement, Phipson & Smyth 2010).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from synthval.inference import (
    ALPHA,
    LEVEL,
    PERMUTATIONS,
    _correlate,
    fisher_bounds,
    permutation_orders,
    permutation_p_value,
)

ARCHITECTURE = "architecture"
HYPERPARAMETERS = "hyper-parameters"
SEED = "seed"
QUESTIONS = (ARCHITECTURE, HYPERPARAMETERS, SEED)
#: what each question asks, in the report's words
ASKS = {
    ARCHITECTURE: "which architecture?",
    HYPERPARAMETERS: "which hyper-parameters?",
    SEED: "which trained model (seed)?",
}
#: the unit each question's interval resamples
UNITS = {ARCHITECTURE: "architectures", HYPERPARAMETERS: "architectures", SEED: "configurations"}
STATISTICS = {
    ARCHITECTURE: "Spearman rho over architecture means",
    HYPERPARAMETERS: "mean within-architecture Kendall tau",
    SEED: "mean within-configuration Kendall tau",
}
FISHER_ARCH = "Fisher z (Bonett-Wright) over architectures"
JACKKNIFE_NESTED = "Wilson, jackknife over architectures"
JACKKNIFE_CROSSED = "Wilson, jackknife over architectures + variants (crossed)"
JACKKNIFE_SEEDS = "Wilson, jackknife over architectures"
NONE = "none"


@dataclass(frozen=True)
class Layout:
    """Who each member is: its architecture (or pretrained family), its variant (hyper-parameter setting,
    or model within a family) and its seed."""

    unit: np.ndarray
    variant: np.ndarray
    seed: np.ndarray

    @classmethod
    def of(cls, unit: Sequence, variant: Sequence, seed: Sequence) -> Layout:
        return cls(np.asarray(unit, str), np.asarray(variant, str), np.asarray(seed, int))

    def describe(self) -> tuple[int, int, int, bool]:
        """(architectures, most variants an architecture has, fewest seeds a configuration has, crossed)."""
        configs = sorted(set(zip(self.unit.tolist(), self.variant.tolist(), strict=True)))
        units = sorted({u for u, _ in configs})
        variants = {u: sorted(v for w, v in configs if w == u) for u in units}
        seeds = [int(np.sum((self.unit == u) & (self.variant == v))) for u, v in configs]
        crossed = len(units) >= 2 and len({tuple(v) for v in variants.values()}) == 1
        return len(units), max((len(v) for v in variants.values()), default=0), min(seeds, default=0), crossed


@dataclass(frozen=True)
class Answer:
    """One question's answer: the statistic with its 95% interval (NaN where there is none), the
    permutation p-value, the number of units, and what an adjusted interval needs (``se`` on the
    statistic's scale, ``scale``: ``fisher`` or ``wilson``, ``df``, ``pairs``)."""

    question: str
    estimate: float
    low: float
    high: float
    p_value: float
    n: int
    method: str
    se: float = math.nan
    scale: str = "wilson"
    df: int = 0
    disjoint: bool = False
    crossed: bool = False
    pairs: int = 0  # pairs compared (the Wilson interval's most effective pairs)

    @property
    def unit(self) -> str:
        return UNITS[self.question]

    def bounds(self, level: float = LEVEL) -> tuple[float, float]:
        """The interval at ``level`` (e.g. 1 - 0.05/m for one of m tests)."""
        return interval_at(self.estimate, self.se, self.scale, self.df, self.pairs or self.n, level)


def interval_at(estimate: float, se: float, scale: str, df: int, n: int, level: float) -> tuple[float, float]:
    """The interval of an :class:`Answer`'s statistic at ``level``: Fisher z over ``n`` units, or, for a
    Kendall tau (a mean of pair concordances), Wilson's score interval of the concordant share (1 + tau) / 2
    with the effective number of pairs its standard error implies (at most ``n``, the pairs compared) and
    Student's t quantile on ``df`` degrees of freedom: near-perfect agreement is where a plain t interval
    on a share undercovers."""
    if estimate != estimate or se != se:
        return math.nan, math.nan
    if scale == "fisher":
        low, high = fisher_bounds(estimate, n, level)
        return float(low), float(high)
    q = float(stats.t.ppf(0.5 + level / 2, max(df, 1)))
    share, se_share = (1 + estimate) / 2, se / 2
    effective = n if se_share == 0 else min(n, max(share * (1 - share) / se_share**2, 1.0))
    if share * (1 - share) == 0:
        effective = n
    centre = (share + q * q / (2 * effective)) / (1 + q * q / effective)
    half = q / (1 + q * q / effective) * math.sqrt(share * (1 - share) / effective + q * q / (4 * effective**2))
    return max(-1.0, 2 * (centre - half) - 1), min(1.0, 2 * (centre + half) - 1)


def _nothing(question: str, n: int, estimate: float = math.nan, p: float = math.nan, **kw) -> Answer:
    return Answer(question, estimate, math.nan, math.nan, p, n, NONE, **kw)


# ---- the cells: configuration means from one or two pairings of seeds ----------------------------------


@dataclass(frozen=True)
class _Cells:
    unit: np.ndarray  # per configuration
    variant: np.ndarray
    x: np.ndarray  # (pairings, configurations): the set's errors
    y: np.ndarray  # (pairings, configurations): the test errors
    disjoint: bool


def _configurations(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each member's configuration index (configurations sorted by unit, then variant), the members in
    (configuration, seed) order, and each configuration's first position in that order."""
    _, config = np.unique(np.char.add(np.char.add(layout.unit, "\x00"), layout.variant), return_inverse=True)
    order = np.lexsort((layout.seed, config))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(config))])
    return config, order, bounds


def _cells(x: np.ndarray, y: np.ndarray, layout: Layout) -> _Cells:
    """Configuration means: one pairing of every seed on both sides, or, where every configuration has two
    seeds or more, two pairings of disjoint halves (even- and odd-indexed seeds, both ways round)."""
    config, order, bounds = _configurations(layout)
    m = len(bounds) - 1
    position = np.empty(len(config), int)
    position[order] = np.arange(len(config)) - bounds[config[order]]
    firsts = order[bounds[:-1]]
    counts = np.diff(bounds)

    def means(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(config[mask], values[mask], m) / np.bincount(config[mask], minlength=m)

    disjoint = bool(counts.min() >= 2)
    if disjoint:
        even, odd = position % 2 == 0, position % 2 == 1
        cx = np.stack([means(x, even), means(x, odd)])
        cy = np.stack([means(y, odd), means(y, even)])
    else:
        every = np.ones(len(config), bool)
        cx, cy = means(x, every)[None], means(y, every)[None]
    return _Cells(layout.unit[firsts], layout.variant[firsts], cx, cy, disjoint)


def _unit_means(cells: _Cells) -> tuple[np.ndarray, np.ndarray, int]:
    """Architecture means of the set's and test errors, (pairings, architectures)."""
    names, index = np.unique(cells.unit, return_inverse=True)
    size = np.bincount(index)
    mx = np.stack([np.bincount(index, row) / size for row in cells.x])
    my = np.stack([np.bincount(index, row) / size for row in cells.y])
    return mx, my, len(names)


def _blocks(cells: _Cells) -> list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    """Architectures with two variants or more, stacked by their variants: per stack, the set's and the
    test's configuration errors (pairings, architectures, variants) and the variants' names."""
    names, index = np.unique(cells.unit, return_inverse=True)
    order = np.lexsort((cells.variant, index))
    bounds = np.concatenate([[0], np.cumsum(np.bincount(index))])
    stacks: dict[tuple[str, ...], list[np.ndarray]] = {}
    for u in range(len(names)):
        rows = order[bounds[u] : bounds[u + 1]]
        if len(rows) >= 2:
            stacks.setdefault(tuple(cells.variant[rows].tolist()), []).append(rows)
    return [(cells.x[:, np.array(r)], cells.y[:, np.array(r)], k) for k, r in stacks.items()]


def _row_taus(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-a along the last axis of ``x`` against ``y`` (broadcast; ties count 0)."""
    i, j = np.triu_indices(x.shape[-1], 1)
    return (np.sign(x[..., i] - x[..., j]) * np.sign(y[..., i] - y[..., j])).mean(-1)


def _ranked_unit_means(cells: _Cells) -> tuple[np.ndarray, np.ndarray] | None:
    """Ranks of the architecture means on the set and on test, (pairings, architectures); ``None`` where
    rho is undefined (fewer than 3 architectures, or constant means)."""
    mx, my, n = _unit_means(cells)
    if n < 3 or any(np.ptp(r) == 0 for r in (*mx, *my)):
        return None
    return stats.rankdata(mx, axis=-1), stats.rankdata(my, axis=-1)


def architecture_statistic(cells: _Cells) -> float:
    """Spearman's rho of the architecture means, averaged over the pairings; NaN where undefined."""
    ranked = _ranked_unit_means(cells)
    if ranked is None:
        return math.nan
    return float(np.mean([_correlate(a, b) for a, b in zip(*ranked, strict=True)]))


def _block_taus(blocks: list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]) -> np.ndarray:
    """Each architecture's Kendall tau-a over its variants, averaged over the pairings, stack by stack."""
    taus = [_row_taus(bx, by).mean(0) for bx, by, _ in blocks]
    return np.concatenate(taus) if taus else np.zeros(0)


def unit_taus(cells: _Cells) -> np.ndarray:
    """Each architecture's Kendall tau-a over its variants, averaged over the pairings."""
    return _block_taus(_blocks(cells))


def _seed_blocks(x: np.ndarray, y: np.ndarray, layout: Layout) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Configurations with two seeds or more, stacked by their number of seeds: per stack, the
    architecture of each, and the set's and test's errors (configurations, seeds)."""
    _, order, bounds = _configurations(layout)
    stacks: dict[int, list[np.ndarray]] = {}
    for c in range(len(bounds) - 1):
        rows = order[bounds[c] : bounds[c + 1]]
        if len(rows) >= 2:
            stacks.setdefault(len(rows), []).append(rows)
    return [(layout.unit[np.array(r)[:, 0]], x[np.array(r)], y[np.array(r)]) for r in stacks.values()]


def _seed_taus(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Each configuration's Kendall tau-a over its seeds, with its architecture, stack by stack."""
    if not blocks:
        return np.zeros(0), np.zeros(0, str)
    return np.concatenate([_row_taus(bx, by) for _, bx, by in blocks]), np.concatenate([u for u, _, _ in blocks])


def config_taus(x: np.ndarray, y: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Each configuration's Kendall tau-a over its seeds (two or more), with its architecture."""
    return _seed_taus(_seed_blocks(np.asarray(x, float), np.asarray(y, float), layout))


# ---- which architecture? --------------------------------------------------------------------------------


def architecture_answer(
    x: ArrayLike, y: ArrayLike, layout: Layout, seed: int = 0, resamples: int = PERMUTATIONS
) -> Answer:
    """Spearman's rho over architecture means (see the module docstring), its Fisher-z interval from 4
    architectures and its permutation p-value from 3."""
    cells = _cells(np.asarray(x, float), np.asarray(y, float), layout)
    n = len(np.unique(cells.unit))
    ranked = _ranked_unit_means(cells)
    if ranked is None:
        return _nothing(ARCHITECTURE, n, disjoint=cells.disjoint, scale="fisher")
    rx, ry = ranked
    rho = float(np.mean([_correlate(a, b) for a, b in zip(rx, ry, strict=True)]))
    orders, exact = permutation_orders(n, np.random.default_rng(seed), resamples)
    null = np.mean([_correlate(a[orders], b) for a, b in zip(rx, ry, strict=True)], axis=0)
    p = permutation_p_value(null, rho, exact)
    if n < 4:
        return _nothing(ARCHITECTURE, n, rho, p, disjoint=cells.disjoint, scale="fisher")
    low, high = interval_at(rho, 0.0, "fisher", 0, n, LEVEL)
    return Answer(ARCHITECTURE, rho, low, high, p, n, FISHER_ARCH, 0.0, "fisher", n - 3, cells.disjoint)


# ---- which hyper-parameters? -----------------------------------------------------------------------------


def _floor_se(values: np.ndarray, step: float) -> float:
    """The standard error of a mean, never below the one a disagreement of ``step`` in one unit would give
    (so an exact agreement of every unit is not a point)."""
    n = len(values)
    se = float(values.std(ddof=1)) / math.sqrt(n)
    if se > 0:
        return se
    moved = values.astype(float).copy()
    moved[0] -= step if moved[0] > 0 else -step
    return float(moved.std(ddof=1)) / math.sqrt(n)


def hyperparameter_answer(
    x: ArrayLike, y: ArrayLike, layout: Layout, seed: int = 0, resamples: int = PERMUTATIONS
) -> Answer:
    """The mean over architectures of each architecture's Kendall tau-a over its variants, with a
    permutation p-value (variant labels permuted jointly when crossed) and a jackknife t interval (see
    the module docstring)."""
    cells = _cells(np.asarray(x, float), np.asarray(y, float), layout)
    blocks = _blocks(cells)
    taus = _block_taus(blocks)
    n = len(taus)
    crossed = n >= 2 and len(blocks) == 1
    if n == 0:
        return _nothing(HYPERPARAMETERS, 0, disjoint=cells.disjoint)
    estimate = float(taus.mean())
    rng = np.random.default_rng(seed)
    if crossed:
        bx, by, names = blocks[0]
        orders, exact = permutation_orders(len(names), rng, resamples)
        # (pairings, orders, architectures, variants): one order for every architecture
        null = _row_taus(bx[..., orders].transpose(0, 2, 1, 3), by[:, None]).mean(axis=(0, 2))
    else:
        exact = False
        null = np.zeros(resamples)
        for bx, by, _ in blocks:
            orders = rng.random((resamples, *bx.shape[1:])).argsort(axis=-1)
            shuffled = np.take_along_axis(bx[:, None], np.broadcast_to(orders, (len(bx), *orders.shape)), axis=-1)
            null += _row_taus(shuffled, by[:, None]).mean(0).sum(-1) / n
    p = permutation_p_value(null, estimate, exact)
    k = len(blocks[0][2]) if crossed else 0
    if n < 2 or (crossed and k < 3):
        return _nothing(HYPERPARAMETERS, n, estimate, p, disjoint=cells.disjoint, crossed=crossed)
    step = 2 / max(math.comb(len(b[2]), 2) for b in blocks)
    variance = _floor_se(taus, step) ** 2
    df = n - 1
    if crossed:
        bx, by, _ = blocks[0]
        keep = [[i for i in range(k) if i != v] for v in range(k)]
        drop = np.array([_row_taus(bx[..., kept], by[..., kept]).mean() for kept in keep])
        variance += (k - 1) / k * float(np.sum((drop - drop.mean()) ** 2))
        df = min(n, k) - 1
    se = math.sqrt(variance)
    pairs = sum(bx.shape[1] * math.comb(len(names), 2) for bx, _, names in blocks)
    low, high = interval_at(estimate, se, "wilson", df, pairs, LEVEL)
    method = JACKKNIFE_CROSSED if crossed else JACKKNIFE_NESTED
    return Answer(HYPERPARAMETERS, estimate, low, high, p, n, method, se, "wilson", df, cells.disjoint, crossed, pairs)


# ---- which trained model (seed)? -------------------------------------------------------------------------


def seed_answer(x: ArrayLike, y: ArrayLike, layout: Layout, seed: int = 0, resamples: int = PERMUTATIONS) -> Answer:
    """The mean over configurations with two seeds or more of their Kendall tau-a over seeds, a
    permutation p-value (seed labels permuted within configurations) and a t interval whose standard
    error deletes one architecture at a time."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    blocks = _seed_blocks(x, y, layout)
    if not blocks:
        return _nothing(SEED, 0)
    taus, units = _seed_taus(blocks)
    n = len(taus)
    estimate = float(taus.mean())
    rng = np.random.default_rng(seed)
    null = np.zeros(resamples)
    for _, bx, by in blocks:
        orders = rng.random((resamples, *bx.shape)).argsort(axis=-1)
        null += _row_taus(np.take_along_axis(np.broadcast_to(bx, orders.shape), orders, axis=-1), by).sum(-1) / n
    p = permutation_p_value(null, estimate, False)
    names, index = np.unique(units, return_inverse=True)
    g = len(names)
    if n < 2 or g < 2:
        return _nothing(SEED, n, estimate, p)
    sums, sizes = np.bincount(index, taus), np.bincount(index)
    # the delete-one-architecture jackknife of the mean over configurations
    drop = (taus.sum() - sums) / (n - sizes)
    variance = (g - 1) / g * float(np.sum((drop - drop.mean()) ** 2))
    if variance == 0:
        seeds = max(b[1].shape[1] for b in blocks)
        variance = _floor_se(sums / sizes, 2 / math.comb(seeds, 2) / sizes.max()) ** 2
    se = math.sqrt(variance)
    pairs = sum(bx.shape[0] * math.comb(bx.shape[1], 2) for _, bx, _ in blocks)
    low, high = interval_at(estimate, se, "wilson", g - 1, pairs, LEVEL)
    return Answer(SEED, estimate, low, high, p, n, JACKKNIFE_SEEDS, se, "wilson", g - 1, True, False, pairs)


ANSWERERS = {ARCHITECTURE: architecture_answer, HYPERPARAMETERS: hyperparameter_answer, SEED: seed_answer}


def answer(
    x: ArrayLike, y: ArrayLike, layout: Layout, seed: int = 0, resamples: int = PERMUTATIONS
) -> dict[str, Answer]:
    """Every question's answer for one set against test errors (one value per member)."""
    return {q: f(x, y, layout, seed, resamples) for q, f in ANSWERERS.items()}


def units_needed(a: Answer, tests: int = 1, power: float = 0.8) -> int | None:
    """How many units (architectures, or configurations for the seed question) would give about ``power``
    to tell an effect of the size seen from none, with the interval Bonferroni-adjusted over ``tests`` (at
    least as strict as Holm's first step); ``None`` where no number would (no effect, or none seen). A rho:
    Fisher's z. A tau: the smallest n' whose interval (Wilson, t quantile) at the adjusted level, around the
    estimate less ``power``'s normal quantile in standard errors, clears 0, with the standard error shrinking
    as 1 / sqrt(n') and the degrees of freedom and pairs growing with n'."""
    if a.estimate != a.estimate or a.estimate == 0:
        return None
    level = 1 - ALPHA / max(tests, 1)
    beta = stats.norm.ppf(power)
    if a.scale == "fisher":
        z = stats.norm.ppf(0.5 + level / 2) + beta
        r = min(abs(a.estimate), 1 - 1e-6)
        return max(5, math.ceil(3 + z * z * (1 + r * r / 2) / math.atanh(r) ** 2))
    if a.se != a.se or a.n < 2:
        return None
    estimate = abs(a.estimate)

    def clears(n: int) -> bool:
        grow = n / a.n
        se = a.se / math.sqrt(grow)
        low, _ = interval_at(
            estimate - beta * se, se, "wilson", max(1, round(a.df * grow)), max(1, round(a.pairs * grow)), level
        )
        return low > 0

    n = a.n
    while not clears(n):
        n *= 2
        if n > 10**6:
            return None
    low, high = max(a.n, n // 2), n
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if clears(mid) else (mid + 1, high)
    return high
