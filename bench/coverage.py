"""Coverage of the intervals the report concludes from (``synthval.inference``), by simulation with a known
truth, at the sizes the report uses; and the smallest sizes from which every cell holds.

    python bench/coverage.py [--replicates 4000] [--seed 0] [--out bench/results/coverage.md]

Generating models (written down so that the figures can be checked):

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
- **Mean of paired differences** (protocol minus baseline per configuration; a method minus real-only
  training per seed): n independent differences, normal with sd 1, true mean 0 or 0.5; and a skewed case,
  a gamma of shape 4 (skewness 1) centred at the true mean. Interval: :func:`mean_interval`.
- **Difference of two correlations sharing the test errors** (calibrated minus uncalibrated): trivariate
  normal configuration effects, no seed noise, truths from the population Spearman rhos. Interval:
  :func:`correlation_difference` (Zou 2007).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from synthval.inference import (
    MIN_CONFIGURATIONS,
    MIN_UNITS,
    _correlate,
    correlation_difference,
    fisher_bounds,
    mean_interval,
)

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine  # noqa: E402

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


def mean_cell(mean: float, skewed: bool, n: int, replicates: int, rng: np.random.Generator) -> dict:
    shape = 4.0
    if skewed:
        draws = (rng.gamma(shape, 1 / math.sqrt(shape), (replicates, n)) - math.sqrt(shape)) + mean
    else:
        draws = rng.normal(mean, 1, (replicates, n))
    rows = [mean_interval(d) for d in draws]
    return {
        "coverage": float(np.mean([r.low <= mean <= r.high for r in rows])),
        "verdict": float(np.mean([r.low > 0 or r.high < 0 for r in rows])),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    reps = args.replicates
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
    measured = smallest_size(passing)
    mean_passing = {}
    for n in (2, 3, 4, 5, 6, 8, 10, 15):
        ok = True
        for skewed in (False, True):
            for mean in (0.0, 0.5):
                cell = mean_cell(mean, skewed, n, min(reps, 2000), rng)
                limit = NULL_VERDICTS + allowance(min(reps, 2000))
                good = cell["coverage"] >= COVERAGE and (mean != 0 or cell["verdict"] <= limit)
                ok &= good or skewed  # the normal model decides the minimum; the skewed one is reported
                rows.append(
                    [
                        f"mean of paired differences ({'gamma, skewness 1' if skewed else 'normal'})",
                        str(n),
                        "-",
                        f"{mean:.1f} sd",
                        f"{cell['coverage'] * 100:.1f}%",
                        f"{cell['verdict'] * 100:.1f}%",
                        "-",
                        "-",
                        "yes" if good else "no",
                    ]
                )
        mean_passing[n] = ok
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
    setting = (
        f"{machine(1)}; {reps} replicates a rank cell (Monte Carlo SE of a 95% coverage: "
        f"{math.sqrt(0.95 * 0.05 / reps) * 100:.2f} points), seed {args.seed}. Rank verdicts hold from "
        f"{measured} configurations (synthval.inference.MIN_CONFIGURATIONS = {MIN_CONFIGURATIONS}); means of "
        f"paired differences (normal) from {smallest_size(mean_passing)} units (MIN_UNITS = {MIN_UNITS}). "
        f"Passing: coverage >= {COVERAGE:.0%} and, at a true effect of 0, intervals excluding 0 <= {NULL_VERDICTS:.0%} "
        "plus two Monte Carlo standard errors (an exact 5% test measures above 5% half the time)."
    )
    emit(
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
        args.out,
    )
    if measured != MIN_CONFIGURATIONS:
        print(f"MIN_CONFIGURATIONS is {MIN_CONFIGURATIONS} but the benchmark supports {measured}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
