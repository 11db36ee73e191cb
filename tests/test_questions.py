"""The three questions a zoo answers (synthval.questions), each against a hand computation, and a few cells of
the coverage benchmark on zoos as users build them (synthval.simulation; bench/coverage.py has them all)."""

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from synthval.questions import (
    ARCHITECTURE,
    HYPERPARAMETERS,
    SEED,
    Layout,
    answer,
    architecture_answer,
    hyperparameter_answer,
    interval_at,
    seed_answer,
    units_needed,
)
from synthval.simulation import Components, allowance, calibrate, check, crossed_layout, design_holds, draw


def _grid(archs, variants, seeds):
    rows = [(a, v, s) for a in archs for v in variants for s in seeds]
    return Layout.of(*zip(*rows, strict=True))


def test_the_architecture_answer_ranks_architecture_means_from_disjoint_seeds():
    rng = np.random.default_rng(0)
    layout = _grid(["a", "b", "c", "d", "e"], ["v1", "v2"], [0, 1])
    x, y = rng.normal(size=20), rng.normal(size=20)
    got = architecture_answer(x, y, layout, seed=0)
    # by hand: seed 0 of every configuration on one side, seed 1 on the other, both ways round, averaged
    arch = layout.unit.reshape(5, 4)[:, 0]
    xs, ys = x.reshape(5, 2, 2), y.reshape(5, 2, 2)  # (architecture, variant, seed)
    one = stats.spearmanr(xs[:, :, 0].mean(1), ys[:, :, 1].mean(1))[0]
    two = stats.spearmanr(xs[:, :, 1].mean(1), ys[:, :, 0].mean(1))[0]
    assert len(arch) == 5
    assert got.estimate == pytest.approx((one + two) / 2)
    assert got.n == 5
    assert got.unit == "architectures"
    assert got.disjoint
    # the exact permutation test over the 5! pairings of architectures
    rx = [stats.rankdata(xs[:, :, s].mean(1)) for s in (0, 1)]
    ry = [stats.rankdata(ys[:, :, 1 - s].mean(1)) for s in (0, 1)]
    null = [
        np.mean([stats.pearsonr(rx[s][list(p)], ry[s])[0] for s in (0, 1)]) for p in itertools.permutations(range(5))
    ]
    assert got.p_value == pytest.approx(np.mean(np.abs(null) >= abs(got.estimate) - 1e-12))
    # one seed a configuration: both sides use it, and the answer says seed luck counts
    single = _grid(["a", "b", "c", "d"], ["v1"], [0])
    assert not architecture_answer([1, 2, 3, 4], [1, 2, 4, 3], single).disjoint


def test_the_hyperparameter_answer_is_the_mean_within_architecture_tau():
    layout = _grid(["a", "b", "c"], ["v1", "v2", "v3", "v4"], [0])
    x = np.array([1, 2, 3, 4, 1, 2, 4, 3, 4, 3, 2, 1], float)
    y = np.array([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], float)
    got = hyperparameter_answer(x, y, layout, seed=0)
    taus = [stats.kendalltau(x[i : i + 4], y[i : i + 4])[0] for i in (0, 4, 8)]
    assert got.estimate == pytest.approx(np.mean(taus))
    assert got.n == 3
    assert got.crossed
    # crossed: labels permuted jointly, all 4! orders; a perfect agreement of 4 crossed variants cannot reach 0.05
    perfect = hyperparameter_answer(y, y, layout, seed=0)
    assert perfect.p_value == pytest.approx(2 / 24)
    assert perfect.low < 1
    assert perfect.high == 1.0
    # nested (each architecture its own settings): labels permuted within each architecture independently
    nested = Layout.of(layout.unit, np.char.add(layout.unit, layout.variant), layout.seed)
    assert not hyperparameter_answer(y, y, nested, seed=0).crossed
    assert hyperparameter_answer(y, y, nested, seed=0).p_value < 0.05
    # one variant an architecture: not asked
    assert hyperparameter_answer([1, 2, 3, 4], [1, 2, 3, 4], _grid(list("abcd"), ["v"], [0])).n == 0


def test_the_seed_answer_orders_seeds_within_configurations():
    layout = _grid(["a", "b", "c"], ["v1", "v2"], [0, 1])
    x = np.array([1, 2, 2, 1, 1, 2, 1, 2, 2, 1, 1, 2], float)
    y = np.array([1, 2, 1, 2, 1, 2, 1, 2, 2, 1, 2, 1], float)
    got = seed_answer(x, y, layout, seed=0)
    agree = [1, -1, 1, 1, 1, -1]  # per configuration: do the two seeds keep their order?
    assert got.estimate == pytest.approx(np.mean(agree))
    assert got.n == 6
    assert got.unit == "configurations"
    assert seed_answer([1, 2, 3], [1, 2, 3], _grid(["a", "b", "c"], ["v"], [0])).n == 0
    every = answer(x, y, layout, seed=0)
    assert set(every) == {ARCHITECTURE, HYPERPARAMETERS, SEED}


def test_wilson_intervals_of_a_tau_and_the_units_needed():
    low, high = interval_at(1.0, 0.0, "wilson", 10, 24, 0.95)
    assert high == 1.0
    assert 0.5 < low < 1
    low, high = interval_at(0.0, 0.2, "wilson", 10, 1000, 0.95)
    q = stats.t.ppf(0.975, 10)
    assert low == -high
    assert 0.85 * q * 0.2 < high < q * 0.2
    weak = architecture_answer(*np.random.default_rng(3).normal(size=(2, 16)), _grid(list("abcdefgh"), ["v"], [0, 1]))
    one, many = units_needed(weak, 1), units_needed(weak, 48)
    assert one is None or many > one  # Holm over 48 tests needs more than one test does


def test_a_few_cells_of_the_zoo_benchmark():
    """Zoos as users build them, under no association: the question intervals hold; the rho over
    configurations pooled as if independent does not (bench/results/coverage.md has every cell)."""
    reps = 300
    floor = 0.93 - 2 * math.sqrt(0.95 * 0.05 / reps)
    layout = crossed_layout(6, 4, 1)  # config/digits-study.yaml's earlier design
    comps = calibrate(ARCHITECTURE, 0.0, layout, Components())
    cell = check(ARCHITECTURE, layout, comps, reps, seed=5, truth_value=0.0)
    assert cell.coverage >= floor
    assert cell.excludes_zero <= 0.05 + allowance(reps)
    crossed = crossed_layout(8, 8, 1)
    comps = calibrate(HYPERPARAMETERS, 0.0, crossed, Components())
    cell = check(HYPERPARAMETERS, crossed, comps, reps, seed=6, truth_value=0.0)
    assert cell.coverage >= floor
    assert cell.excludes_zero <= 0.05 + allowance(reps)
    # the pooled rho over 64 configurations of 8 architectures: a false verdict far more often than 5%
    xs, ys = draw(crossed, replace(Components(), r_luck=0.0), np.random.default_rng(7), reps)
    excludes = 0
    for x, y in zip(xs, ys, strict=True):
        low, high = interval_at(stats.spearmanr(x, y)[0], 0.0, "fisher", 0, 64, 0.95)
        excludes += low > 0 or high < 0
    assert excludes / reps > 0.2
    # the report's check of its own design
    assert design_holds(ARCHITECTURE, crossed_layout(24, 1, 2), replicates=100) is True
    assert design_holds(SEED, crossed_layout(6, 4, 1), replicates=100) is None  # one seed: no interval
