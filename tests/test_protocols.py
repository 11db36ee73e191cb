"""Selection protocols, calibration and the Corollary 3.3 check on hand-made tables whose answers are known."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from synthval.inference import FISHER, STUDENT
from synthval.selection import rank_correlation
from synthval.selection.calibration import calibration_sweep, corollary_check, fit_ridge
from synthval.selection.protocols import (
    PAIRED_UNIT,
    POOL_SENSITIVITY,
    _pick,
    early_stopping,
    es_rss_table,
    hps_table,
    protocol_tables,
    seed_selection,
    with_members,
)
from synthval.selection.ranking import (
    CONFIGURATIONS,
    FIT_MEMBERS,
    POOLED,
    TRAIN_MEMBERS,
    model_errors,
    pooled_note,
)


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
    assert es["a-base-s0"]["chosen_epoch"] == 2
    assert es["a-base-s0"]["chosen"] == 0.20
    assert es["b-base-s0"]["chosen_epoch"] == 1
    assert es["b-base-s0"]["chosen"] == 0.10
    assert es["b-base-s0"]["baseline"] == 0.15
    assert es["b-base-s0"]["oracle"] == 0.10
    assert set(es) == {"a-base-s0", "a-base-s1", "b-base-s0", "b-base-s1"}  # fit members are not selected from


def test_seed_selection_with_and_without_early_stopping(zoo):
    rss = {r["config"]: r for r in seed_selection(zoo, "syn").iter_rows(named=True)}
    assert rss["a-base"]["chosen_model"] == "a-base-s0"
    assert rss["a-base"]["chosen"] == 0.20
    assert rss["b-base"]["chosen_model"] == "b-base-s1"
    assert rss["b-base"]["chosen"] == 0.11
    assert rss["a-base"]["baseline"] == pytest.approx(0.21)
    both = {r["config"]: r for r in seed_selection(zoo, "syn", early_stop=True).iter_rows(named=True)}
    assert (both["b-base"]["chosen_model"], both["b-base"]["chosen_epoch"], both["b-base"]["chosen"]) == (
        "b-base-s0",
        1,
        0.10,
    )
    table = {r.protocol: r for r in es_rss_table(zoo, "syn")}
    assert table["ES + RSS"].test_error == pytest.approx((0.20 + 0.10) / 2)
    assert table["ES + RSS"].regret == pytest.approx(0)
    # every figure is over configurations: an ES figure is first averaged over a configuration's runs
    assert table["ES"].units == 2
    assert table["RSS"].units == 2
    assert table["ES"].test_error == pytest.approx(((0.20 + 0.22) / 2 + (0.10 + 0.11) / 2) / 2)
    # ES + RSS against the last epoch, paired by configuration: a 0.20 - 0.21, b 0.10 - 0.13
    paired = table["ES + RSS minus baseline"]
    diffs = np.array([0.20 - 0.21, 0.10 - 0.13])
    half = stats.t.ppf(0.975, 1) * diffs.std(ddof=1) / np.sqrt(2)
    assert paired.test_error == pytest.approx(-0.02)
    assert (paired.low, paired.high) == pytest.approx((-0.02 - half, -0.02 + half))
    assert paired.p_value == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    assert paired.interval == STUDENT
    assert paired.interval_unit == PAIRED_UNIT
    assert paired.selection == "syn vs none"


def test_hps_protocols_against_the_oracle(zoo):
    table = {r.protocol: r for r in hps_table(zoo, "syn", repeats=50)}
    assert table["oracle"].test_error == 0.10
    assert table["oracle"].selection == "test"
    assert table["synthetic protocol"].test_error == 0.10
    assert table["synthetic protocol"].regret == 0
    # standard protocol: config a wins on val, so the mean last-epoch test error of a's train members
    assert table["standard protocol"].test_error == pytest.approx(0.21)
    assert table["standard protocol"].selection == "val"
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


def test_a_set_that_copies_the_test_labels_ranks_perfectly():
    test = {"a": 0.10, "b": 0.20, "c": 0.15, "d": 0.40}
    zoo = _zoo_errors(test, test, seeds=2, jitter=0.01)
    copy = pl.concat([zoo, zoo.filter(pl.col("eval_set") == "test").with_columns(eval_set=pl.lit("copy"))])
    rank = rank_correlation(copy).filter(pl.col("eval_set") == "copy").row(0, named=True)
    assert rank["spearman"] == pytest.approx(1)
    assert rank["kendall"] == pytest.approx(1)
    # four configurations, however many seeds: a perfect ranking has the exact two-sided p of 2/4! and a
    # Fisher interval that still reaches far down, not [1, 1]; five would be the fewest that could settle it
    assert rank["p_value"] == pytest.approx(2 / 24)
    assert rank["interval"] == FISHER
    assert rank["spearman_low"] < 0
    assert rank["spearman_high"] > 0.99
    assert rank["configs_needed"] == 5
    assert rank["n_models"] == 8


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
    assert out["preserved_above_tv"] == 1.0
    assert out["preserved_below_tv"] == 0.0
    # 2 TV (each error may move by TV): only a-c (0.22) clears 0.2; a-b is 0.20, not above
    assert out["pairs_above_2tv"] == 1
    assert out["preserved_above_2tv"] == 1.0


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
    errors = predictions.group_by("model", "epoch", "eval_set").agg(
        error=(pl.col("prediction") != pl.col("label")).mean(), n=pl.len()
    )
    sweep = calibration_sweep(predictions, with_members(errors), "syn", sizes=[5, 40], ridges=[0.01], draws=3, seed=0)
    full = sweep.filter(pl.col("calibration_models") == 40).row(0, named=True)
    assert full["spearman"] > 0.9 > full["uncalibrated_spearman"]
    assert full["real_split"].startswith("val")
    assert full["evaluation_models"] == 25


def _zoo_errors(test: dict[str, float], syn: dict[str, float], seeds: int = 1, jitter: float = 0.0) -> pl.DataFrame:
    """One last epoch per member: ``seeds`` copies of each configuration's errors (near-duplicates with ``jitter``)."""
    rows = []
    for i, config in enumerate(test):
        for s in range(seeds):
            rows += [
                (f"{config}-base-s{s}", 3, "test", test[config] + jitter * s),
                (f"{config}-base-s{s}", 3, "syn", syn[config] + jitter * s * i),
            ]
    return _errors(rows)


def test_seeds_are_averaged_so_duplicated_seeds_do_not_narrow_the_interval():
    test = {"a": 0.10, "b": 0.20, "c": 0.15, "d": 0.40, "e": 0.30, "f": 0.05, "g": 0.25}
    syn = {"a": 0.12, "b": 0.35, "c": 0.11, "d": 0.50, "e": 0.23, "f": 0.02, "g": 0.40}
    one = rank_correlation(_zoo_errors(test, syn), seed=3).row(0, named=True)
    five = rank_correlation(_zoo_errors(test, syn, seeds=5), seed=3).row(0, named=True)
    assert (one["n_models"], one["n_configs"], five["n_models"], five["n_configs"]) == (7, 7, 35, 7)
    assert one["interval"] == FISHER
    assert one["interval_unit"] == "configurations"
    # the interval worked out by hand: Fisher z with Bonett-Wright variance over 7 configurations
    r = stats.spearmanr(list(syn.values()), list(test.values()))[0]
    half = stats.norm.ppf(0.975) * np.sqrt((1 + r * r / 2) / 4)
    assert one["spearman"] == pytest.approx(r)
    assert (one["spearman_low"], one["spearman_high"]) == pytest.approx(
        (np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half))
    )
    # five identical seeds per configuration carry no more information than one: the same interval and p
    assert five["spearman"] == pytest.approx(one["spearman"])
    assert five["p_value"] == one["p_value"]
    assert (five["spearman_low"], five["spearman_high"]) == pytest.approx((one["spearman_low"], one["spearman_high"]))
    # resampling single models would have treated the copies as evidence and narrowed it
    rng = np.random.default_rng(3)
    e = _zoo_errors(test, syn, seeds=5).pivot(on="eval_set", index="model", values="error")
    rhos = [stats.spearmanr(e["syn"].to_numpy()[i], e["test"].to_numpy()[i])[0] for i in rng.integers(0, 35, (300, 35))]
    assert np.percentile(rhos, 97.5) - np.percentile(rhos, 2.5) < five["spearman_high"] - five["spearman_low"]


def test_ties_are_broken_by_model_name_whatever_the_row_order():
    frame = pl.DataFrame(
        {
            "model": ["b-base-s0", "a-base-s1", "a-base-s0", "c-base-s0"],
            "config": ["b-base", "a-base", "a-base", "c-base"],
            "seed": [0, 1, 0, 0],
            "epoch": [2, 2, 2, 1],
            "sel": [0.1, 0.1, 0.1, 0.1],
            "test": [0.3, 0.2, 0.25, 0.1],
        }
    )
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        shuffled = frame[order]
        assert _pick(shuffled, [])["model"][0] == "a-base-s0"  # the later epoch, then the first name
        assert _pick(shuffled, ["config"]).sort("config")["model"].to_list() == ["a-base-s0", "b-base-s0", "c-base-s0"]


def _predicted_zoo(seed: int = 0) -> pl.DataFrame:
    """Per-sample predictions of a zoo with two groups (6 configurations x 2 seeds on train, one fit
    member per configuration validated on val), on a synthetic set ``syn`` and the test split."""
    rng = np.random.default_rng(seed)
    rows = []
    for arch in ("cnn", "mlp", "resnet8", "rwnn00", "rwnn01", "rwnn02"):
        skill = rng.uniform(0.05, 0.5)
        for name, sets in (
            (f"{arch}-base-s0", ("syn", "test")),
            (f"{arch}-base-s1", ("syn", "test")),
            (f"{arch}-base-s0-fit", ("syn", "val", "test")),
        ):
            for epoch in (1, 2):
                p_wrong = np.clip(skill + rng.normal(0, 0.05) + 0.1 * (epoch == 1), 0.01, 0.95)
                for eval_set in sets:
                    for c in range(2):
                        for i in range(25):
                            rows.append(
                                (name, epoch, eval_set, f"{eval_set}{c}-{i}", c, 1 - c if rng.random() < p_wrong else c)
                            )
    return pl.DataFrame(rows, schema=["model", "epoch", "eval_set", "key", "label", "prediction"], orient="row")


GROUPS = {
    "cnn": "standard",
    "mlp": "standard",
    "resnet8": "standard",
    "rwnn00": "randomly wired",
    "rwnn01": "randomly wired",
    "rwnn02": "randomly wired",
}


def _choices(predictions: pl.DataFrame, point="auto") -> dict:
    errors = model_errors(predictions)
    protocols = protocol_tables(errors, "syn", GROUPS, repeats=20, seed=1)
    sweep = calibration_sweep(
        predictions, with_members(errors, GROUPS), "syn", [1, 3, 6], [0.1, 10.0], draws=3, seed=0, point=point
    )
    return {
        "es": early_stopping(errors, "syn").select("model", "chosen_epoch").rows(),
        "rss": seed_selection(errors, "syn", early_stop=True).select("config", "chosen_model", "chosen_epoch").rows(),
        "hps": protocols.select("group", "protocol", "chosen").rows(),
        "calibration": sweep.filter(pl.col("chosen")).select("group", "calibration_models", "ridge").rows(),
    }


def _with_ties(predictions: pl.DataFrame) -> pl.DataFrame:
    """Every model's synthetic-set predictions copied from one model: every selection error ties, so only
    the tie-break (later epoch, then name) can choose, and a leak through it would follow the test errors."""
    syn = predictions.filter(pl.col("eval_set") == "syn")
    first = syn.filter(pl.col("model") == "cnn-base-s0").drop("model")
    models = syn.select("model").unique()
    tied = models.join(first, how="cross").select(predictions.columns)
    return pl.concat([predictions.filter(pl.col("eval_set") != "syn"), tied])


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
def test_permuting_the_test_errors_changes_no_choice(ties):
    """The test split only scores: giving every model another model's test predictions must leave
    every choice as it was (ES epochs, RSS seeds, the HPS pick, the standard protocol's configuration,
    the calibration operating point), while the scores move; over 20 permutations, and with every
    selection error tied, where only the tie-break chooses."""
    predictions = _predicted_zoo()
    if ties:
        predictions = _with_ties(predictions)
    models = sorted(predictions["model"].unique().to_list())
    before = _choices(predictions)
    assert before["calibration"]
    assert any(c for _, _, c in before["hps"])
    assert all(models > 1 for _, models, _ in before["calibration"])  # one calibration model ranks nothing
    moved = 0
    for k in range(20):
        shuffled = dict(zip(models, np.random.default_rng(k).permutation(models).tolist(), strict=True))
        test = predictions.filter(pl.col("eval_set") == "test").with_columns(pl.col("model").replace_strict(shuffled))
        permuted = pl.concat([predictions.filter(pl.col("eval_set") != "test"), test])
        assert _choices(permuted) == before, f"permutation {k} changed a choice"
        moved += (
            es_rss_table(model_errors(permuted), "syn")[1].test_error
            != es_rss_table(model_errors(predictions), "syn")[1].test_error
        )
    assert moved >= 15  # the scores do move
    fixed = _choices(predictions, point={"models": 3, "ridge": 10.0})["calibration"]
    assert {(m, r) for _, m, r in fixed} == {(3, 10.0)}


def test_protocols_and_calibration_per_group_and_pooled():
    errors = model_errors(_predicted_zoo())
    table = protocol_tables(errors, "syn", GROUPS, repeats=50, seed=0)
    assert table["group"].unique().sort().to_list() == ["all", "randomly wired", "standard"]
    for group, configs in (("all", 6), ("standard", 3), ("randomly wired", 3)):
        rows = {r["protocol"]: r for r in table.filter(pl.col("group") == group).iter_rows(named=True)}
        assert rows["RSS"]["units"] == configs
        diff = rows["synthetic minus standard"]
        assert diff["test_error"] == pytest.approx(
            rows["synthetic protocol"]["test_error"] - rows["standard protocol"]["test_error"]
        )
        assert diff["low"] <= diff["test_error"] <= diff["high"]
        assert diff["interval"] == POOL_SENSITIVITY
        assert rows["oracle"]["interval"] == POOL_SENSITIVITY
        assert rows["ES"]["interval_unit"] == "configurations"
    rss = {r["group"]: r["test_error"] for r in table.filter(pl.col("protocol") == "RSS").iter_rows(named=True)}
    assert rss["all"] == pytest.approx(
        (rss["standard"] + rss["randomly wired"]) / 2
    )  # a mean over configurations, 3 + 3


def test_rank_rows_include_the_real_val_baseline_and_the_architecture_shift():
    errors = model_errors(_predicted_zoo())
    every = rank_correlation(errors, GROUPS)
    kinds = set(every.select("eval_set", "ranked").unique().rows())
    assert kinds == {("syn", TRAIN_MEMBERS), ("val", FIT_MEMBERS), ("val", CONFIGURATIONS)}
    # the three questions for the members, none for the shift (it ranks configurations of two kinds of member)
    questions = every.filter(pl.col("question") != POOLED, pl.col("group") == "all")
    assert set(questions.select("ranked", "question").rows()) == {
        (r, q) for r in (TRAIN_MEMBERS, FIT_MEMBERS) for q in ("architecture", "hyper-parameters", "seed")
    }
    rank = every.filter(pl.col("question") == POOLED)
    last = errors.filter(pl.col("epoch") == 2)
    wide = last.pivot(on="eval_set", index="model", values="error")
    fit = wide.filter(pl.col("model").str.ends_with("-fit"))
    val = rank.filter(pl.col("ranked") == FIT_MEMBERS, pl.col("group") == "all").row(0, named=True)
    assert val["n_models"] == 6
    assert val["spearman"] == pytest.approx(stats.spearmanr(fit["val"], fit["test"])[0])
    shift = rank.filter(pl.col("ranked") == CONFIGURATIONS, pl.col("group") == "all").row(0, named=True)
    train = wide.filter(~pl.col("model").str.ends_with("-fit")).with_columns(
        config=pl.col("model").str.replace(r"-s[0-9]+$", "")
    )
    by_config = train.group_by("config").agg(pl.col("test").mean()).sort("config")
    assert shift["n_models"] == 6
    assert shift["spearman"] == pytest.approx(stats.spearmanr(fit.sort("model")["val"], by_config["test"])[0])
    standard = rank.filter(pl.col("eval_set") == "syn", pl.col("group") == "standard").row(0, named=True)
    assert standard["n_models"] == 6
    assert standard["n_configs"] == 3


def test_a_pooled_rho_that_hides_its_groups_says_so_from_intervals():
    # two groups of 10 configurations far apart in error; within each, the synthetic set orders them backwards
    test = {f"a{i}": 0.02 + 0.001 * i for i in range(10)} | {f"b{i}": 0.40 + 0.01 * i for i in range(10)}
    syn = {f"a{i}": 0.05 - 0.001 * i for i in range(10)} | {f"b{i}": 0.70 - 0.01 * i for i in range(10)}
    groups = {c: "standard" if c.startswith("a") else "randomly wired" for c in test}
    rank = rank_correlation(_zoo_errors(test, syn), groups).filter(pl.col("question") == POOLED)
    pooled = rank.filter(pl.col("group") == "all").row(0, named=True)
    assert pooled["spearman"] == pytest.approx(1 - 6 * 660 / (20 * 399))
    assert pooled["spearman_low"] > 0
    assert (rank.filter(pl.col("group") != "all")["spearman_high"] < 0).all()
    assert "hides the randomly wired, standard groups" in pooled_note(rank, "syn")
    assert pooled_note(rank_correlation(_zoo_errors(test, test), groups), "syn") is None
    # the same pattern over 3 configurations a group is below the size a verdict needs: no note
    small = {k: v for k, v in test.items() if k[1] in "012"}
    small_syn = {k: syn[k] for k in small}
    assert pooled_note(rank_correlation(_zoo_errors(small, small_syn), groups), "syn") is None


def test_the_test_split_cannot_be_a_selection_set(zoo):
    with pytest.raises(ValueError, match="only scores"):
        es_rss_table(zoo.with_columns(eval_set=pl.col("eval_set").replace("syn", "test")), "test")
