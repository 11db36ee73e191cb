"""The intervals and tests verdicts come from, against values worked out independently, and a few cells of
the coverage benchmark (bench/coverage.py) at fewer replicates."""

import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from synthval.inference import (
    HALL,
    MIN_CONFIGURATIONS,
    SMALLEST_TESTABLE,
    _hall,
    _hall_inverse,
    configurations_for_half_width,
    configurations_needed,
    correlation_difference,
    fisher_bounds,
    holm,
    mean_interval,
    permutation_p,
    rank_interval,
)


def _bench():
    spec = importlib.util.spec_from_file_location("coverage", Path(__file__).parents[1] / "bench" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_exact_permutation_p_of_a_perfect_ranking():
    # a perfect ranking of 3 configurations: 2 of the 3! pairings are as extreme (+1 and -1)
    assert permutation_p([1, 2, 3], [10, 20, 30], seed=0) == pytest.approx(1 / 3)
    assert permutation_p([1, 2, 3, 4], [4, 3, 2, 1], seed=0) == pytest.approx(2 / 24)
    # by enumeration, with a tie, against a brute-force count
    x, y = [0.1, 0.4, 0.2, 0.4, 0.9], [1, 3, 2, 5, 4]
    r = stats.spearmanr(x, y)[0]
    null = [stats.spearmanr(np.array(x)[list(p)], y)[0] for p in itertools.permutations(range(5))]
    assert permutation_p(x, y, seed=0) == pytest.approx(np.mean(np.abs(null) >= abs(r) - 1e-12))


def test_a_random_permutation_p_is_seeded_and_never_zero():
    rng = np.random.default_rng(0)
    x, other = rng.normal(size=12), rng.normal(size=12)
    # 12! pairings: 9,999 random ones, counted with the observed one, so a perfect ranking gets 1/10,000
    assert permutation_p(x, x, seed=4) == pytest.approx(1 / 10000)
    assert permutation_p(x, other, seed=1) == permutation_p(x, other, seed=1)


def test_the_rank_interval_is_fisher_z_with_bonett_wright_variance():
    x, y = [1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4, 3, 6, 8, 5, 7]
    ci = rank_interval(x, y, seed=0)
    r = stats.spearmanr(x, y)[0]
    half = 1.959964 * math.sqrt((1 + r * r / 2) / 5)
    assert ci.estimate == pytest.approx(r)
    assert (ci.low, ci.high) == pytest.approx((math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)))
    assert ci.n == 8
    assert ci.unit == "configurations"
    # three configurations: a p-value but no interval
    three = rank_interval([1, 2, 3], [1, 2, 3], seed=0)
    assert math.isnan(three.low)
    assert three.p_value == pytest.approx(1 / 3)
    # a perfect ranking is held inside the range, so its interval is not [1, 1]
    low, high = fisher_bounds(1.0, 7)
    assert 0.5 < low < 0.95
    assert high > 0.99


def test_the_mean_interval_is_students_t_then_halls():
    v = [0.3, -0.1, 0.5, 0.2]
    ci = mean_interval(v)
    t = stats.ttest_1samp(v, 0)
    lo, hi = t.confidence_interval(0.95)
    assert (ci.estimate, ci.low, ci.high, ci.p_value) == pytest.approx((np.mean(v), lo, hi, t.pvalue))
    assert math.isnan(mean_interval([0.2]).low)
    # no spread: never p = 0; the exact sign-flip p of n equal non-zero differences is 2 / 2^n
    assert mean_interval([0.1, 0.1]).p_value == pytest.approx(0.5)
    assert mean_interval([0.1] * 6).p_value == 1 / 32
    # from HALL_FROM units, Hall's transformation: symmetric data give Student's interval...
    sym = np.array([-2.0, -1, -0.5, 0, 0.5, 1, 2, 1.5, -1.5]) + 0.3
    hall, t = mean_interval(sym), stats.ttest_1samp(sym, 0)
    assert hall.method == HALL
    assert (hall.low, hall.high) == pytest.approx(t.confidence_interval(0.95), abs=0.02)
    # ... right-skewed data push the interval right of Student's, as the mean's distribution is skewed left of it
    skewed = np.array([-0.5, -0.4, -0.4, -0.3, -0.3, -0.2, -0.1, 0.0, 2.5, 1.9])
    hall, t = mean_interval(skewed), stats.ttest_1samp(skewed, 0)
    low, high = t.confidence_interval(0.95)
    assert hall.low > low
    assert hall.high > high
    # the transformation is inverted exactly
    assert _hall(_hall_inverse(0.37, 1.3, 10), 1.3, 10) == pytest.approx(0.37)


def test_holm_against_a_hand_computation():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> kept monotone at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm([0.5, float("nan"), 0.01])
    assert adjusted[0] == pytest.approx(0.5)
    assert math.isnan(adjusted[1])
    assert adjusted[2] == pytest.approx(0.02)


def test_the_correlation_difference_agrees_with_its_p_value():
    rng = np.random.default_rng(2)
    for _ in range(20):
        test = rng.normal(size=15)
        a = test + rng.normal(0, 0.5, 15)
        b = test + rng.normal(0, 1.5, 15)
        d = correlation_difference(test, a, b)
        assert d.estimate == pytest.approx(stats.spearmanr(a, test)[0] - stats.spearmanr(b, test)[0])
        excludes = d.low > 0 or d.high < 0
        assert excludes == (d.p_value < 0.05) or abs(d.p_value - 0.05) < 1e-6


def test_configurations_needed_to_settle_a_rho():
    # 3 + 1.96^2 (1 + 0.125) / atanh(0.5)^2 = 17.3 -> 18
    assert configurations_needed(0.5) == 18
    assert configurations_needed(0.99) == 5 == SMALLEST_TESTABLE
    assert configurations_needed(0.0) is None
    assert configurations_for_half_width(7) == 19  # width ~ 1 / sqrt(n - 3)


def test_a_few_cells_of_the_coverage_benchmark():
    bench = _bench()
    rng = np.random.default_rng(7)
    reps = 1500
    floor = 0.93 - 2 * math.sqrt(0.95 * 0.05 / reps)  # the requirement, less two Monte Carlo errors
    at_minimum = bench.rank_cell(0.0, 1, MIN_CONFIGURATIONS, reps, rng)
    assert at_minimum["coverage"] >= floor
    assert at_minimum["verdict"] <= 0.05 + bench.allowance(reps)
    assert bench.rank_cell(0.8, 3, MIN_CONFIGURATIONS, reps, rng)["coverage"] >= floor
    assert bench.rank_cell(0.5, 2, 12, reps, rng)["coverage"] >= floor
    # at the minimum the interval is wide, and the exact test cannot reject at all until 5 configurations
    assert bench.rank_cell(0.8, 1, MIN_CONFIGURATIONS, reps, rng)["width"] > 1.5
    assert permutation_p([1, 2, 3, 4], [1, 2, 3, 4], seed=0) > 0.05 >= permutation_p(range(5), range(5), seed=0)
    assert bench.mean_cell(0.0, "normal", 3, 600, rng)["coverage"] >= 0.93 - 2 * math.sqrt(0.95 * 0.05 / 600)
