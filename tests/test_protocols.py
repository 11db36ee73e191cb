"""Selection protocols, calibration and the Corollary 3.3 check on hand-made tables whose answers are known."""

import numpy as np
import polars as pl
import pytest

from synthval.selection import rank_correlation
from synthval.selection.calibration import calibration_sweep, corollary_check, fit_ridge
from synthval.selection.protocols import early_stopping, es_rss_table, hps_table, seed_selection, with_members


def _errors(rows):
    """rows: (model, epoch, eval_set, error)"""
    return pl.DataFrame(rows, schema=["model", "epoch", "eval_set", "error"], orient="row").with_columns(n=pl.lit(100))


@pytest.fixture
def zoo():
    # two configurations x two seeds x epochs 1, 2; "syn" agrees with "test" except where noted
    rows = []
    test = {("a", 0): (0.30, 0.20), ("a", 1): (0.25, 0.22), ("b", 0): (0.10, 0.15), ("b", 1): (0.12, 0.11)}
    syn = {("a", 0): (0.40, 0.30), ("a", 1): (0.35, 0.33), ("b", 0): (0.20, 0.26), ("b", 1): (0.24, 0.21)}
    for (arch, seed), errs in test.items():
        for epoch, e in enumerate(errs, start=1):
            rows.append((f"{arch}-base-s{seed}", epoch, "test", e))
            rows.append((f"{arch}-base-s{seed}", epoch, "syn", syn[(arch, seed)][epoch - 1]))
    # the standard protocol's members: trained on fit, validated on val (config a looks better there)
    for arch, val in (("a", 0.1), ("b", 0.3)):
        for seed in (0, 1):
            rows.append((f"{arch}-base-s{seed}-fit", 2, "val", val))
            rows.append((f"{arch}-base-s{seed}-fit", 2, "test", 0.5))
    return _errors(rows)


def test_members_are_parsed_into_configuration_seed_and_split(zoo):
    m = with_members(zoo).filter(pl.col("model") == "b-base-s1-fit").row(0, named=True)
    assert (m["config"], m["seed"], m["split"]) == ("b-base", 1, "fit")


def test_early_stopping_picks_the_best_synthetic_epoch_per_run(zoo):
    es = {r["model"]: r for r in early_stopping(zoo, "syn").iter_rows(named=True)}
    assert es["a-base-s0"]["chosen_epoch"] == 2 and es["a-base-s0"]["chosen"] == 0.20  # syn 0.30 < 0.40
    assert es["b-base-s0"]["chosen_epoch"] == 1 and es["b-base-s0"]["chosen"] == 0.10  # syn 0.20 < 0.26
    assert es["b-base-s0"]["baseline"] == 0.15 and es["b-base-s0"]["oracle"] == 0.10
    assert set(es) == {"a-base-s0", "a-base-s1", "b-base-s0", "b-base-s1"}  # fit members are not selected from


def test_seed_selection_with_and_without_early_stopping(zoo):
    rss = {r["config"]: r for r in seed_selection(zoo, "syn").iter_rows(named=True)}
    assert rss["a-base"]["chosen_model"] == "a-base-s0" and rss["a-base"]["chosen"] == 0.20  # last-epoch syn 0.30 < 0.33
    assert rss["b-base"]["chosen_model"] == "b-base-s1" and rss["b-base"]["chosen"] == 0.11
    assert rss["a-base"]["baseline"] == pytest.approx(0.21)
    both = {r["config"]: r for r in seed_selection(zoo, "syn", early_stop=True).iter_rows(named=True)}
    assert (both["b-base"]["chosen_model"], both["b-base"]["chosen_epoch"], both["b-base"]["chosen"]) == ("b-base-s0", 1, 0.10)
    table = {r.protocol: r for r in es_rss_table(zoo, "syn", repeats=50)}
    assert table["ES + RSS"].test_error == pytest.approx((0.20 + 0.10) / 2) and table["ES + RSS"].regret == pytest.approx(0)
    assert table["ES"].units == 4 and table["RSS"].units == 2 and table["ES"].low <= table["ES"].test_error <= table["ES"].high


def test_hps_protocols_against_the_oracle(zoo):
    table = {r.protocol: r for r in hps_table(zoo, "syn", repeats=50)}
    assert table["oracle"].test_error == 0.10 and table["oracle"].selection == "test"
    assert table["synthetic protocol"].test_error == 0.10 and table["synthetic protocol"].regret == 0  # syn 0.20 is the lowest
    # standard protocol: config a wins on val, so the mean last-epoch test error of a's train members
    assert table["standard protocol"].test_error == pytest.approx(0.21) and table["standard protocol"].selection == "val"
    assert table["random model"].test_error == pytest.approx((0.20 + 0.22 + 0.15 + 0.11) / 4)


def test_hps_bootstrap_weighs_configurations_drawn_twice():
    # one seed per configuration: the random model's bootstrap means must be the means over multisets
    # of configurations (a draw of a, a, b averages a twice, not the set {a, b})
    errs = {"a": 0.05, "b": 0.1, "c": 0.2, "d": 0.3, "e": 0.5, "f": 0.8}
    zoo = _errors([(f"{c}-base-s0", 1, e_set, e) for c, e in errs.items() for e_set in ("test", "syn")])
    table = {r.protocol: r for r in hps_table(zoo, "syn", repeats=400, seed=11)}
    rng = np.random.default_rng(11)
    means = [np.mean([errs[c] for c in rng.choice(sorted(errs), len(errs), replace=True)]) for _ in range(400)]
    assert table["random model"].low == pytest.approx(np.percentile(means, 2.5))
    assert table["random model"].high == pytest.approx(np.percentile(means, 97.5))


def test_a_set_that_copies_the_test_labels_ranks_perfectly(zoo):
    copy = pl.concat([zoo, zoo.filter(pl.col("eval_set") == "test").with_columns(eval_set=pl.lit("copy"))])
    rank = rank_correlation(copy.filter(~pl.col("model").str.ends_with("-fit")), repeats=200).filter(pl.col("eval_set") == "copy").row(0, named=True)
    assert rank["spearman"] == pytest.approx(1) and rank["kendall"] == pytest.approx(1)
    assert rank["spearman_low"] == pytest.approx(1) and rank["spearman_high"] == pytest.approx(1)


def test_ridge_recovers_planted_weights():
    rng = np.random.default_rng(0)
    correct = rng.integers(0, 2, (200, 12)).astype(float)  # 200 calibration models, 12 synthetic images
    w, b = rng.normal(size=12) * 0.05, 0.3
    weights, intercept = fit_ridge(correct, correct @ w + b, lam=1e-8)
    np.testing.assert_allclose(weights, w, atol=1e-6)
    assert intercept == pytest.approx(b, abs=1e-6)
    shrunk, _ = fit_ridge(correct, correct @ w + b, lam=1e4)
    assert np.abs(shrunk).sum() < np.abs(weights).sum()  # the penalty spreads and shrinks the weights


def test_corollary_check_counts_pairs_above_and_below_tv():
    synthetic = {"a": 0.10, "b": 0.30, "c": 0.32}
    real = {"a": 0.20, "b": 0.50, "c": 0.45}
    out = corollary_check(synthetic, real, tv=0.1)
    assert (out["pairs"], out["pairs_above_tv"], out["pairs_below_tv"]) == (3, 2, 1)
    assert out["preserved_above_tv"] == 1.0 and out["preserved_below_tv"] == 0.0  # b, c: 0.02 apart on synthetic data, flipped on real


def test_calibration_repairs_a_biased_synthetic_set():
    """Synthetic images whose correctness predicts a model's real error only through planted weights:
    raw synthetic error ranks models poorly, calibrated error ranks them well."""
    rng = np.random.default_rng(1)
    images, classes = 30, 2
    planted = {c: rng.normal(size=images) * 0.02 for c in range(classes)}
    planted[0][:5] += 0.08  # five images that matter and many that do not
    rows = []

    def add(model, split_name):
        correct = {c: rng.integers(0, 2, images) for c in range(classes)}
        real = {c: float(np.clip(0.4 - correct[c] @ planted[c] * 0.5, 0.01, 0.99)) for c in range(classes)}
        for c in range(classes):
            for i in range(images):
                rows.append((model, 1, "syn", f"s{c}-{i}", c, c if correct[c][i] else 1 - c))
            real_set = "val" if split_name == "fit" else "test"
            wrong = round(real[c] * 200)
            for i in range(200):
                rows.append((model, 1, real_set, f"r{c}-{i}", c, 1 - c if i < wrong else c))

    for seed in range(40):
        add(f"cal{seed}-base-s0-fit", "fit")
    for seed in range(25):
        add(f"net{seed}-base-s0", "train")
    predictions = pl.DataFrame(rows, schema=["model", "epoch", "eval_set", "key", "label", "prediction"], orient="row")
    errors = predictions.group_by("model", "epoch", "eval_set").agg(error=(pl.col("prediction") != pl.col("label")).mean(), n=pl.len())
    sweep = calibration_sweep(predictions, with_members(errors), "syn", sizes=[5, 40], ridges=[0.01], draws=3, seed=0)
    full = sweep.filter(pl.col("calibration_models") == 40).row(0, named=True)
    assert full["spearman"] > 0.9 > full["uncalibrated_spearman"]
    assert full["real_split"].startswith("val") and full["evaluation_models"] == 25
