"""Zoos as users build them, with a known truth: the generating model the coverage benchmark
(``bench/coverage.py``) and every report's check of its own design draw from.

A zoo is a :class:`synthval.questions.Layout`: architectures (or pretrained families) x variants x
seeds. Member (a, v, s) has a latent error on the selection set and on test,

    L = A_a + M_v + I_av + u_avs + e_avs

with architecture effects A (sd :attr:`Components.architecture`), variant effects M shared by every
architecture that has variant v (crossed designs; sd ``variant_main``), architecture x variant effects I
(``interaction``), a trained model's seed luck u (``luck``) and each set's own noise e (``noise``). The
set's and test's A, (M, I) and u are bivariate normal with correlations r_arch, r_variant and r_luck;
e is independent. ``r_luck = 1`` is the seed luck a trained model carries onto both sets. The latent
error becomes an error rate ``1 / (1 + exp(2.5 - 0.4 L))`` (about 3-35%) and then a count of errors
on a finite split (``test_images``, ``set_images``): errors are discrete and tie.

The *truth* of a question is its statistic's population value at the level it is measured (the
estimand of :mod:`synthval.questions`: with one seed a configuration, seed luck included), computed by
Monte Carlo on many fresh architectures (:func:`truth`); :func:`calibrate` finds the correlation that
gives a wanted truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from synthval.questions import (
    ANSWERERS,
    ARCHITECTURE,
    HYPERPARAMETERS,
    SEED,
    Layout,
    _cells,
    architecture_statistic,
    config_taus,
    unit_taus,
)


@dataclass(frozen=True)
class Components:
    """Standard deviations of the latent error's parts, their correlations between the set and test,
    and the split sizes (defaults: the issue's reviewer model, architectures sd 1, variants 0.5)."""

    architecture: float = 1.0
    variant_main: float = 0.35
    interaction: float = 0.35
    luck: float = 0.2
    noise: float = 0.2
    r_arch: float = 0.0
    r_variant: float = 0.0
    r_luck: float = 1.0
    test_images: int = 1000
    set_images: int = 1000


def crossed_layout(architectures: int, variants: int, seeds: int) -> Layout:
    """Every architecture with the same variants (a grid of hyper-parameters), ``seeds`` seeds each."""
    rows = [(f"a{a:02d}", f"v{v:02d}", s) for a in range(architectures) for v in range(variants) for s in range(seeds)]
    return Layout.of(*zip(*rows, strict=True))


def family_layout(sizes: list[int]) -> Layout:
    """Families of pretrained models (one model each of ``sizes[f]`` per family, one seed): nested."""
    rows = [(f"f{f:02d}", f"m{f:02d}x{m:02d}", 0) for f, k in enumerate(sizes) for m in range(k)]
    return Layout.of(*zip(*rows, strict=True))


def _pair(rng: np.random.Generator, r: float, sd: float, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    a = rng.normal(0, 1, shape)
    b = r * a + math.sqrt(max(1 - r * r, 0.0)) * rng.normal(0, 1, shape)
    return sd * a, sd * b


def draw(layout: Layout, c: Components, rng: np.random.Generator, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    """``replicates`` zoos of ``layout``: the set's and the test's errors, each (replicates, members)."""
    units, ui = np.unique(layout.unit, return_inverse=True)
    variants, vi = np.unique(layout.variant, return_inverse=True)
    cells, ci = np.unique(ui * len(variants) + vi, return_inverse=True)
    m = len(layout.unit)
    ax, ay = _pair(rng, c.r_arch, c.architecture, (replicates, len(units)))
    mx, my = _pair(rng, c.r_variant, c.variant_main, (replicates, len(variants)))
    ix, iy = _pair(rng, c.r_variant, c.interaction, (replicates, len(cells)))
    lx, ly = _pair(rng, c.r_luck, c.luck, (replicates, m))
    latent_x = ax[:, ui] + mx[:, vi] + ix[:, ci] + lx + rng.normal(0, c.noise, (replicates, m))
    latent_y = ay[:, ui] + my[:, vi] + iy[:, ci] + ly + rng.normal(0, c.noise, (replicates, m))

    def errors(latent: np.ndarray, images: int) -> np.ndarray:
        rate = 1 / (1 + np.exp(2.5 - 0.4 * latent))
        return rng.binomial(images, rate) / images

    return errors(latent_x, c.set_images), errors(latent_y, c.test_images)


def _population_layout(layout: Layout, architectures: int) -> Layout:
    """About ``architectures`` fresh architectures, each shaped like one of the layout's in turn, for the
    Monte Carlo truth."""
    names = np.unique(layout.unit)
    copies = max(1, math.ceil(architectures / len(names)))
    unit = np.concatenate([np.char.add(f"c{i:05d}-", layout.unit) for i in range(copies)])
    return Layout(unit, np.tile(layout.variant, copies), np.tile(layout.seed, copies))


def truth(question: str, layout: Layout, c: Components, seed: int = 0, architectures: int = 3000) -> float:
    """The question's statistic on a population of fresh architectures shaped like the layout's: the rank
    correlation of their architecture means (seeds split as :mod:`synthval.questions` splits them), or the
    mean within-architecture (within-configuration) Kendall tau. For the hyper-parameter question variant
    effects are fresh for every architecture: the truth averages over them, as the crossed interval's
    jackknife over variants does."""
    rng = np.random.default_rng(seed)
    population = _population_layout(layout, architectures)
    if question == HYPERPARAMETERS:
        c = replace(c, interaction=math.hypot(c.interaction, c.variant_main), variant_main=0.0)
    x, y = draw(population, c, rng, 1)
    x, y = x[0], y[0]
    if question == SEED:
        taus, _ = config_taus(x, y, population)
        return float(taus.mean()) if len(taus) else math.nan
    cells = _cells(x, y, population)
    if question == ARCHITECTURE:
        return architecture_statistic(cells)
    taus = unit_taus(cells)
    return float(taus.mean()) if len(taus) else math.nan


CORRELATION = {ARCHITECTURE: "r_arch", HYPERPARAMETERS: "r_variant", SEED: "r_luck"}


def calibrate(question: str, target: float, layout: Layout, c: Components, seed: int = 0) -> Components:
    """Components whose question's truth is ``target``: the question's correlation found by bisection
    over [-1, 1] (common random numbers, so the truth is monotone in it)."""
    key = CORRELATION[question]
    lo, hi = -1.0, 1.0
    for _ in range(16):
        mid = (lo + hi) / 2
        if truth(question, layout, _with(c, key, mid), seed) < target:
            lo = mid
        else:
            hi = mid
    return _with(c, key, (lo + hi) / 2)


def _with(c: Components, key: str, value: float) -> Components:
    """``c`` with its correlation ``key`` set to ``value``."""
    return replace(c, **{key: value})  # type: ignore[arg-type]  # key is one of the float correlations


@dataclass(frozen=True)
class Cell:
    """One cell of a coverage check: how often the question's 95% interval covers the truth, how often it
    excludes 0 (a verdict's precondition), and how often it exists."""

    question: str
    truth: float
    coverage: float
    excludes_zero: float
    defined: float
    width: float
    replicates: int


def check(
    question: str, layout: Layout, c: Components, replicates: int, seed: int = 0, truth_value: float | None = None
) -> Cell:
    """Simulate ``replicates`` zoos of ``layout`` from ``c`` and score the question's interval against
    its truth (permutation tests are left out: they are exact under the null by construction)."""
    rng = np.random.default_rng(seed)
    value = truth(question, layout, c, seed + 1) if truth_value is None else truth_value
    xs, ys = draw(layout, c, rng, replicates)
    covered = excludes = defined = 0
    widths = []
    for x, y in zip(xs, ys, strict=True):
        a = ANSWERERS[question](x, y, layout, seed, resamples=1)
        if a.low != a.low:
            continue
        defined += 1
        covered += a.low <= value <= a.high
        excludes += a.low > 0 or a.high < 0
        widths.append(a.high - a.low)
    share = max(defined, 1)
    return Cell(
        question,
        value,
        covered / share,
        excludes / share,
        defined / replicates,
        float(np.median(widths)) if widths else math.nan,
        replicates,
    )


def components_for(question: str) -> Components:
    """The components each question's cells draw from: the defaults, with variant effects of sd 1 for the
    hyper-parameter question and seed luck of sd 1 (noise 0.1) for the seed question, so that their truths
    of 0.5 and 0.8 are reachable through the test split's counting noise."""
    if question == SEED:
        return replace(Components(), luck=1.0, noise=0.1)
    if question == HYPERPARAMETERS:
        return replace(Components(), variant_main=0.7, interaction=0.7)
    return Components()


#: what the report's design check simulates: no association (truth 0) and a moderate one (0.5)
CHECK_TRUTHS = (0.0, 0.5)
COVERAGE, NULL_VERDICTS = 0.93, 0.05


def allowance(replicates: int) -> float:
    """Two Monte Carlo standard errors of a 5% rate."""
    return 2 * math.sqrt(NULL_VERDICTS * (1 - NULL_VERDICTS) / replicates)


def design_holds(question: str, layout: Layout, replicates: int = 200, seed: int = 0) -> bool | None:
    """Whether the question's interval holds at this design in the generating model: coverage at least
    :data:`COVERAGE` (less two Monte Carlo standard errors) at truths 0 and 0.5, and intervals that
    exclude 0 under truth 0 at most :data:`NULL_VERDICTS` plus two (components: :func:`components_for`);
    ``None`` where the design gives no interval at all."""
    base = components_for(question)
    slack = allowance(replicates)
    for target in CHECK_TRUTHS:
        comps = calibrate(question, target, layout, base, seed)
        reached = truth(question, layout, comps, seed + 1)
        value = target if abs(reached - target) < 0.02 else reached  # the bisection's Monte Carlo error
        cell = check(question, layout, comps, replicates, seed + 7, truth_value=value)
        if cell.defined == 0:
            return None
        if cell.coverage < COVERAGE - slack:
            return False
        if target == 0 and cell.excludes_zero > NULL_VERDICTS + slack:
            return False
    return True
