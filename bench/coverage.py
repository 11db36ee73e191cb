"""Coverage of the intervals the report concludes from (``synthval.questions``, ``synthval.inference``), by
simulation with a known truth, at the sizes the report uses; and the smallest sizes from which every cell holds.

    python bench/coverage.py [--replicates 4000] [--zoo-replicates 1000] [--seed 0] [--out bench/results/coverage.md]

Generating models (written down so that the figures can be checked):

- **The three questions on zoos as users build them** (:mod:`synthval.simulation`, its docstring has the
  model): architectures x variants x seeds with architecture effects (sd 1), variant effects shared by every
  architecture (crossed, sd 0.35) and architecture x variant effects (sd 0.35), seed luck (sd 0.2) shared
  by the set and test, each set's own noise (sd 0.2), and errors counted on finite splits of 1,000 images
  (discrete, with ties). Designs 3x4, 6x4, 12x2, 24x1 and 8x8 crossed with 1 and 2 seeds, and a pretrained
  zoo of 40 families of 1-20 models (nested, one seed). Each question's truth (0, 0.5, 0.8; where a design
  cannot reach 0.8, the largest it reaches) is set by the correlation of its own effects, the other
  questions' effects uncorrelated; the seed question's cells give luck sd 1 and noise 0.1, so that its
  truths are reachable through the test split's counting noise. Intervals: :func:`synthval.questions.answer`.
  Also, under no association at all (every correlation 0, luck not shared), how often the rho over
  *configurations* pooled as if independent (the report's description row) excludes 0: why it is
  described, never concluded.

- **Rank agreement.** n configurations; configuration c has expected errors (a_c, b_c) on the synthetic set
  and on test, drawn from a bivariate normal with unit variances and correlation r; each of its s seeds
  adds independent noise of sd 0.3 on each set (against a configuration spread of 1). The statistic is
  Spearman's rho over configurations of the seed-mean errors, the interval :func:`rank_interval`'s Fisher
  z with Bonett-Wright variance. The truth it must cover is the population Spearman rho of the seed-mean
  errors, ``6/pi asin(r' / 2)`` with ``r' = r / (1 + 0.09 / s)``; the table sets that truth to 0, 0.5 and
  0.8 for s = 1, 2, 3 (so r grows with the noise). "verdict" is the share of intervals that exclude 0; the
  report also needs the exact permutation test to reject, so its rate is at most this. The column "rho of
  expected errors" is the coverage of the configuration-effect correlation ``6/pi asin(r/2)`` instead, the
  figure a reader may have in mind: seed noise pulls the estimate below it.
- **Mean of paired differences** (protocol minus baseline per architecture; a method minus real-only
  training per seed): n independent differences, normal with sd 1, true mean 0 or 0.5; skewed cases, a
  gamma of shape 4 (skewness 1) and an exponential (skewness 2) centred at the true mean, with each tail's
  rate under no effect. Interval: :func:`mean_interval` (Student t after Hall's transformation).
- **Difference of two correlations sharing the test errors** (calibrated minus uncalibrated): trivariate
  normal configuration effects, no seed noise, truths from the population Spearman rhos. Interval:
  :func:`correlation_difference` (Zou 2007).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import stats

from synthval.inference import (
    HALL_FROM,
    MIN_CONFIGURATIONS,
    MIN_UNITS,
    _correlate,
    correlation_difference,
    fisher_bounds,
    mean_interval,
)
from synthval.questions import HYPERPARAMETERS, QUESTIONS, SEED, Layout
from synthval.simulation import (
    Cell,
    Components,
    calibrate,
    check,
    components_for,
    crossed_layout,
    draw,
    family_layout,
    truth,
)

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine

NOISE = 0.3
RHOS = (0.0, 0.5, 0.8)
SEEDS = (1, 2, 3)
SIZES = (4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 50)
COVERAGE, NULL_VERDICTS = 0.93, 0.05


def allowance(replicates: int) -> float:
    """Two Monte Carlo standard errors of a 5% rate: an exact 5% test is measured above 5% half the time."""
    return 2 * math.sqrt(NULL_VERDICTS * (1 - NULL_VERDICTS) / replicates)


def spearman_of_pearson(r: float) -> float:
    return 6 / math.pi * math.asin(r / 2)


def pearson_of_spearman(rho: float) -> float:
    return 2 * math.sin(math.pi * rho / 6)


def rank_cell(rho: float, seeds: int, n: int, replicates: int, rng: np.random.Generator) -> dict:
    r = pearson_of_spearman(rho) * (1 + NOISE**2 / seeds)  # configuration-effect correlation
    effects = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=(replicates, n))
    x = effects[..., 0] + rng.normal(0, NOISE, (replicates, n, seeds)).mean(-1)
    y = effects[..., 1] + rng.normal(0, NOISE, (replicates, n, seeds)).mean(-1)
    estimate = _correlate(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))
    low, high = fisher_bounds(estimate, n)
    effect_rho = spearman_of_pearson(r)
    return {
        "coverage": float(np.mean((low <= rho) & (rho <= high))),
        "verdict": float(np.mean((low > 0) | (high < 0))),
        "effect_coverage": float(np.mean((low <= effect_rho) & (effect_rho <= high))),
        "width": float(np.median(high - low)),
    }


SKEWS = {"normal": 0.0, "gamma, skewness 1": 1.0, "exponential, skewness 2": 2.0}


def mean_cell(mean: float, skew: str, n: int, replicates: int, rng: np.random.Generator) -> dict:
    if skew == "normal":
        draws = rng.normal(mean, 1, (replicates, n))
    else:
        shape = 4 / SKEWS[skew] ** 2  # gamma skewness 2 / sqrt(shape); sd 1
        draws = (rng.gamma(shape, 1 / math.sqrt(shape), (replicates, n)) - math.sqrt(shape)) + mean
    rows = [mean_interval(d) for d in draws]
    return {
        "coverage": float(np.mean([r.low <= mean <= r.high for r in rows])),
        "verdict": float(np.mean([r.low > 0 or r.high < 0 for r in rows])),
        "low_tail": float(np.mean([r.low > mean for r in rows])),
        "high_tail": float(np.mean([r.high < mean for r in rows])),
    }


#: the zoos of the hierarchical cells: (label, layout)
def zoo_designs(seed: int) -> list[tuple[str, Layout]]:
    designs = [
        (f"{a}x{v} crossed, {s} seed{'s' if s > 1 else ''}", crossed_layout(a, v, s))
        for a, v in ((3, 4), (6, 4), (12, 2), (24, 1), (8, 8))
        for s in (1, 2)
    ]
    sizes = np.random.default_rng(seed).integers(1, 21, 40).tolist()
    designs.append((f"40 pretrained families of 1-20 ({sum(sizes)} models), 1 seed", family_layout(sizes)))
    return designs


TRUTHS = (0.0, 0.5, 0.8)


def zoo_cell(question: str, target: float, layout: Layout, replicates: int, seed: int) -> Cell | None:
    """One hierarchical cell; ``None`` where the design gives the question no interval."""
    base = components_for(question)
    if question == SEED and layout.describe()[2] < 2:
        return None
    if question == HYPERPARAMETERS and (
        layout.describe()[1] < 2 or (layout.describe()[3] and layout.describe()[1] < 3)
    ):
        return None
    comps = calibrate(question, target, layout, base, seed)
    value = truth(question, layout, comps, seed + 1, architectures=6000)
    value = target if abs(value - target) < 0.02 else value  # the bisection's Monte Carlo error
    cell = check(question, layout, comps, replicates, seed + 2, truth_value=value)
    return None if cell.defined == 0 else cell


def pooled_null(layout: Layout, replicates: int, seed: int) -> float:
    """How often the rho over configurations, pooled as if they were independent (seed means on both
    sides), excludes 0 under no association at all."""
    comps = replace(Components(), r_luck=0.0)
    xs, ys = draw(layout, comps, np.random.default_rng(seed), replicates)
    _, config = np.unique(np.char.add(np.char.add(layout.unit, "-"), layout.variant), return_inverse=True)
    size = np.bincount(config)
    hits = 0
    for x, y in zip(xs, ys, strict=True):
        cx, cy = np.bincount(config, x) / size, np.bincount(config, y) / size
        estimate = _correlate(stats.rankdata(cx), stats.rankdata(cy))
        low, high = fisher_bounds(estimate, len(cx))
        hits += bool(low > 0 or high < 0)
    return hits / replicates


def difference_cell(r12: float, r13: float, r23: float, n: int, replicates: int, rng: np.random.Generator) -> dict:
    cov = np.array([[1, r12, r13], [r12, 1, r23], [r13, r23, 1]])
    truth = spearman_of_pearson(r12) - spearman_of_pearson(r13)
    draws = rng.multivariate_normal(np.zeros(3), cov, size=(replicates, n))
    rows = [correlation_difference(d[:, 0], d[:, 1], d[:, 2]) for d in draws]
    rows = [r for r in rows if r.defined]
    return {
        "coverage": float(np.mean([r.low <= truth <= r.high for r in rows])),
        "verdict": float(np.mean([r.low > 0 or r.high < 0 for r in rows])),
        "truth": truth,
    }


def smallest_size(passing: dict[int, bool]) -> int | None:
    """The smallest size from which every larger size of the grid passes too."""
    best = None
    for n in sorted(passing, reverse=True):
        if not passing[n]:
            break
        best = n
    return best


def rank_rows(reps: int, rng: np.random.Generator) -> tuple[list[list[str]], dict[int, bool]]:
    """The rank cells (Spearman, Fisher z) at each number of configurations, and which sizes pass."""
    rows, passing = [], {}
    for n in SIZES:
        ok = True
        for seeds in SEEDS:
            for rho in RHOS:
                cell = rank_cell(rho, seeds, n, reps, rng)
                good = cell["coverage"] >= COVERAGE and (rho != 0 or cell["verdict"] <= NULL_VERDICTS + allowance(reps))
                ok &= good
                rows.append(
                    [
                        "rank (Spearman, Fisher z)",
                        str(n),
                        str(seeds),
                        f"{rho:.1f}",
                        f"{cell['coverage'] * 100:.1f}%",
                        f"{cell['verdict'] * 100:.1f}%",
                        f"{cell['effect_coverage'] * 100:.1f}%",
                        f"{cell['width']:.2f}",
                        "yes" if good else "no",
                    ]
                )
        passing[n] = ok
    return rows, passing


def mean_rows(reps: int, rng: np.random.Generator, rows: list[list[str]]) -> dict[int, bool]:
    """The paired-mean cells (Student t, then Hall's t) appended to ``rows``; which sizes pass."""
    mean_passing = {}
    mean_reps = reps
    for n in (2, 3, 4, 5, 6, 8, 10, 15, 20, 30):
        ok = True
        for skew in SKEWS:
            for mean in (0.0, 0.5):
                cell = mean_cell(mean, skew, n, mean_reps, rng)
                limit = NULL_VERDICTS + allowance(mean_reps)
                good = cell["coverage"] >= COVERAGE and (mean != 0 or cell["verdict"] <= limit)
                ok &= good or SKEWS[skew] > 1  # normal and skewness 1 decide the minimum; skewness 2 is reported
                tails = f" ({cell['low_tail'] * 100:.1f}% + {cell['high_tail'] * 100:.1f}%)" if mean == 0 else ""
                rows.append(
                    [
                        f"mean of paired differences, {'Hall-t' if n >= HALL_FROM else 'Student t'} ({skew})",
                        str(n),
                        "-",
                        f"{mean:.1f} sd",
                        f"{cell['coverage'] * 100:.1f}%",
                        f"{cell['verdict'] * 100:.1f}%{tails}",
                        "-",
                        "-",
                        "yes" if good else "no",
                    ]
                )
        mean_passing[n] = ok
    return mean_passing


def difference_rows(reps: int, rng: np.random.Generator, rows: list[list[str]]) -> None:
    """Zou's interval of a difference of two rhos that share the test errors, appended to ``rows``."""
    for r12, r13, r23 in ((0.8, 0.5, 0.6), (0.6, 0.6, 0.8), (0.9, 0.7, 0.8)):
        for n in (7, 8, 10, 15, 30):
            cell = difference_cell(r12, r13, r23, n, min(reps, 1000), rng)
            null = abs(cell["truth"]) < 1e-12
            good = cell["coverage"] >= COVERAGE and (
                not null or cell["verdict"] <= NULL_VERDICTS + allowance(min(reps, 1000))
            )
            rows.append(
                [
                    f"difference of rhos sharing test (Zou; r = {r12}, {r13}, {r23})",
                    str(n),
                    "-",
                    f"{cell['truth']:+.2f}",
                    f"{cell['coverage'] * 100:.1f}%",
                    f"{cell['verdict'] * 100:.1f}%",
                    "-",
                    "-",
                    "yes" if good else "no",
                ]
            )


def zoo_table(seed: int, replicates: int) -> tuple[list[list[str]], list[str]]:
    """The three questions on zoos drawn as users build them, and the cells that fail."""
    zoo_rows, zoo_failures = [], []
    for label, layout in zoo_designs(seed):
        for question in QUESTIONS:
            seen = set()
            for target in TRUTHS:
                cell = zoo_cell(question, target, layout, replicates, seed)
                if cell is None:
                    zoo_rows.append([question, label, "-", "no interval at this design", "-", "-", "-", "-"])
                    break
                if round(cell.truth, 2) in seen:  # the largest truth the design reaches, already shown
                    continue
                seen.add(round(cell.truth, 2))
                slack = allowance(replicates)
                good = cell.coverage >= COVERAGE - slack / 2 and (
                    cell.truth != 0 or cell.excludes_zero <= NULL_VERDICTS + slack
                )
                if not good:
                    zoo_failures.append(f"{question} at {label}, truth {cell.truth:.2f}")
                zoo_rows.append(
                    [
                        question,
                        label,
                        f"{cell.truth:.2f}",
                        f"{cell.coverage * 100:.1f}%",
                        f"{cell.excludes_zero * 100:.1f}%",
                        f"{cell.defined * 100:.0f}%",
                        f"{cell.width:.2f}",
                        "yes" if good else "no",
                    ]
                )
        if "crossed" in label:
            rate = pooled_null(layout, replicates, seed)
            zoo_rows.append(
                [
                    "pooled over configurations (described only)",
                    label,
                    "0 (no association at all)",
                    "-",
                    f"{rate * 100:.1f}%",
                    "100%",
                    "-",
                    "yes" if rate <= NULL_VERDICTS + allowance(replicates) else "no",
                ]
            )
    return zoo_rows, zoo_failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=4000)
    parser.add_argument("--zoo-replicates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    reps = args.replicates
    rows, passing = rank_rows(reps, rng)
    measured = smallest_size(passing)
    mean_passing = mean_rows(reps, rng, rows)
    difference_rows(reps, rng, rows)
    zoo_rows, zoo_failures = zoo_table(args.seed, args.zoo_replicates)
    setting = (
        f"{machine(1)}; {reps} replicates a rank cell (Monte Carlo SE of a 95% coverage: "
        f"{math.sqrt(0.95 * 0.05 / reps) * 100:.2f} points), seed {args.seed}. Rank verdicts hold from "
        f"{measured} configurations (synthval.inference.MIN_CONFIGURATIONS = {MIN_CONFIGURATIONS}); means of "
        f"paired differences (normal and skewness 1) from {smallest_size(mean_passing)} units (MIN_UNITS = "
        f"{MIN_UNITS}). Passing: coverage >= {COVERAGE:.0%} and, at a true effect of 0, intervals excluding 0 <= "
        f"{NULL_VERDICTS:.0%} plus two Monte Carlo standard errors (an exact 5% test measures above 5% half the time)."
    )
    text = emit(
        setting,
        [
            "statistic",
            "units (n)",
            "seeds",
            "truth",
            "coverage of 95% interval",
            "interval excludes 0",
            "coverage of rho of expected errors",
            "median width",
            "passes",
        ],
        rows,
        None,
    )
    zoo_setting = (
        f"{args.zoo_replicates} replicates a cell (two Monte Carlo SE of a 5% rate: "
        f"{allowance(args.zoo_replicates) * 100:.1f} points); a cell passes with coverage >= {COVERAGE:.0%} less one "
        "Monte Carlo SE and, at truth 0, intervals excluding 0 <= 5% plus two. 'interval excludes 0' at truth 0 is the "
        "rate of false verdicts an interval alone would give (the report also needs the Holm-adjusted permutation "
        "test), at 0.8 the power. "
        + ("Every cell passes." if not zoo_failures else "Cells that do not pass: " + "; ".join(zoo_failures) + ".")
    )
    zoo_text = emit(
        zoo_setting,
        [
            "question",
            "zoo",
            "truth",
            "coverage of 95% interval",
            "interval excludes 0",
            "interval defined",
            "median width",
            "passes",
        ],
        zoo_rows,
        None,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Coverage of the report's intervals\n\n## The three questions on zoos as users build them\n\n"
            + zoo_text.removeprefix("Machine: ")
            + "\n## Independent units, paired differences, differences of correlations\n\n"
            + text
        )
    if smallest_size(mean_passing) != MIN_UNITS:
        print(f"MIN_UNITS is {MIN_UNITS} but the benchmark supports {smallest_size(mean_passing)}", file=sys.stderr)
        sys.exit(1)
    if measured != MIN_CONFIGURATIONS:
        print(f"MIN_CONFIGURATIONS is {MIN_CONFIGURATIONS} but the benchmark supports {measured}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
