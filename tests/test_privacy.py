"""Membership inference (synthval.metrics.membership): the halves, the confidence, and LiRA on cases
whose answer is known in closed form."""

import dataclasses

import numpy as np
import polars as pl
import pytest
from scipy import stats

from synthval.metrics.membership import (
    balanced_halves,
    evaluate,
    lira_scores,
    logit_confidence,
    roc_curve,
    tpr_at,
)


def test_halves_put_every_image_in_exactly_half_of_the_models():
    member = balanced_halves(501, 8, seed=3)
    assert member.shape == (8, 501)
    assert (member.sum(0) == 4).all()
    assert np.array_equal(member, balanced_halves(501, 8, seed=3))
    assert not np.array_equal(member, balanced_halves(501, 8, seed=4))
    # each model's half is near half of the pool, and models differ
    assert 200 < member.sum(1).min() <= member.sum(1).max() < 300
    assert len({row.tobytes() for row in member}) == 8


@pytest.mark.parametrize("models", [2, 5])
def test_halves_refuse_too_few_or_odd_models(models):
    with pytest.raises(ValueError, match="even number of models, at least 4"):
        balanced_halves(10, models, seed=0)


def test_logit_confidence_is_log_odds_of_the_true_class_and_keeps_precision():
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [60.0, 0.0, 0.0]])
    labels = np.array([0, 1, 0])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = np.log(p[[0, 1], [0, 1]]) - np.log(1 - p[[0, 1], [0, 1]])
    phi = logit_confidence(logits, labels)
    np.testing.assert_allclose(phi[:2], expected, rtol=1e-12)
    assert phi[2] == pytest.approx(60 - np.log(2))  # p rounds to 1 in float64; the log-odds do not


def test_roc_and_tpr_at_low_fpr_on_a_hand_computed_case():
    scores = np.array([0.9, 0.8, 0.8, 0.3, 0.1])
    labels = np.array([1, 1, 0, 1, 0])
    fpr, tpr = roc_curve(scores, labels)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])  # the tie at 0.8 moves both at once
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1, 1])
    assert tpr_at(fpr, tpr, 0.01) == pytest.approx(1 / 3)


def _simulated(models: int, n: int, gap: float, seed: int, bias: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Observations phi of ``models`` models on ``n`` images: a per-image difficulty (which a global
    threshold cannot remove), ``gap`` added where the model trained on the image, unit noise, and with
    ``bias`` each model's own offset per class (a poorly trained model favouring some classes)."""
    rng = np.random.default_rng(seed)
    member = balanced_halves(n, models, seed)
    difficulty = rng.normal(0.0, 3.0, n)
    classes = rng.integers(0, 10, n)
    offsets = rng.normal(0.0, bias, (models, 10))[:, classes]
    return difficulty[None, :] + offsets + gap * member + rng.normal(0.0, 1.0, (models, n)), member


def test_lira_reaches_the_likelihood_ratio_tests_known_power():
    """An overfit model (members' confidence shifted by 2 noise sd): the optimal test's TPR at FPR a is
    1 - Phi(z_(1-a) - 2) and its AUC Phi(2 / sqrt 2); with 64 models the per-image Gaussians are nearly
    exact, so LiRA must come close, and the fixed-variance attacks (the model is homoscedastic) closest."""
    phi, member = _simulated(64, 1500, gap=2.0, seed=0)
    summary = {row["attack"]: row for row in evaluate(phi, member)[0].iter_rows(named=True)}
    for attack in ("online_fixed_variance", "offline_fixed_variance"):
        row = summary[attack]
        assert row["tpr_at_1pct_fpr"] == pytest.approx(1 - stats.norm.cdf(stats.norm.ppf(0.99) - 2), abs=0.04)
        assert row["auc"] == pytest.approx(stats.norm.cdf(2 / np.sqrt(2)), abs=0.02)
        assert row["members"] == row["non_members"] == 64 * 750
    assert summary["online"]["tpr_at_1pct_fpr"] > 0.25  # per-image variances: noisier, still far above chance
    # a global threshold on phi, which ignores per-image difficulty, is far weaker: LiRA's calibration matters
    fpr, tpr = roc_curve(phi.reshape(-1), member.reshape(-1))
    assert tpr_at(fpr, tpr, 0.01) < 0.1


@pytest.mark.parametrize(("models", "bias"), [(4, 0.0), (16, 0.0), (4, 3.0)])
def test_lira_is_at_chance_against_models_that_never_saw_the_data(models, bias):
    """Membership changes nothing: every attack's TPR equals its FPR up to sampling error, with 4 models
    too (where a member has one IN shadow and two OUT, a non-member two IN and one OUT: Gaussians fitted
    to those unequal counts put the AUC near 0.42), and with models that each favour some classes (where
    taking the shadows in model order, not at random, makes a member's shadows other models than a
    non-member's: AUC near 0.46)."""
    phi, member = _simulated(models, 4000, gap=0.0, seed=1, bias=bias)
    for row in evaluate(phi, member)[0].iter_rows(named=True):
        assert row["auc"] == pytest.approx(0.5, abs=0.015)
        assert row["tpr_at_1pct_fpr"] == pytest.approx(0.01, abs=0.005)
        assert row["targets"] == models
        assert row["shadows"] == models - 1


def test_few_models_leave_only_the_fixed_variance_attacks():
    phi, member = _simulated(4, 200, gap=1.0, seed=2)
    assert set(lira_scores(phi, member, target=0)) == {"online_fixed_variance", "offline_fixed_variance"}
    phi, member = _simulated(6, 200, gap=1.0, seed=2)
    assert set(lira_scores(phi, member, target=0)) == {
        "online",
        "online_fixed_variance",
        "offline",
        "offline_fixed_variance",
    }


def test_the_privacy_finding_reports_the_attack_fixed_in_advance():
    from synthval.report.findings import privacy_findings

    phi, member = _simulated(4, 400, gap=1.0, seed=3)
    summary = evaluate(phi, member)[0].with_columns(run=pl.lit("real"), test_accuracy=pl.lit(0.9))
    (finding,) = privacy_findings("t", summary)
    online = summary.filter(pl.col("attack") == "online_fixed_variance").row(0, named=True)
    assert finding.estimate == online["tpr_at_1pct_fpr"]
    assert "(online fixed variance)" in finding.text
    assert "4 target models, each with 3 shadows" in finding.text
    assert finding.verdict == "no interval"


@pytest.mark.parametrize("models", [6, 20])
def test_the_headline_attack_follows_the_simulated_crossover(models):
    """Per-image variances are the headline only from PER_IMAGE_VARIANCE_MODELS models
    (bench/lira_crossover.py: below that the fixed-variance attack finds more members)."""
    from synthval.metrics.membership import PER_IMAGE_VARIANCE_MODELS
    from synthval.report.findings import privacy_findings

    phi, member = _simulated(models, 300, gap=1.0, seed=4)
    summary = evaluate(phi, member)[0].with_columns(run=pl.lit("real"), test_accuracy=pl.lit(0.9))
    assert {"online", "online_fixed_variance"} <= set(summary["attack"])  # both in the table
    (finding,) = privacy_findings("t", summary, num_classes=10)
    per_image = models >= PER_IMAGE_VARIANCE_MODELS == 20
    assert ("(online)" in finding.text) == per_image
    assert ("(online fixed variance)" in finding.text) != per_image


def test_targets_too_weak_to_compare_are_named_not_ranked():
    """Synthetic-only targets at 23% on 10 classes beside real-only ones at 90%: their low leakage says they
    learnt little; a run near the real-only accuracy, or the real-only run itself, is compared as usual."""
    from synthval.report.findings import privacy_findings

    phi, member = _simulated(4, 200, gap=1.0, seed=5)
    base = evaluate(phi, member)[0]
    accuracy = {"real": 0.90, "synthetic-ddpm": 0.23, "augmentation-ddpm": 0.88}
    attacks = pl.concat(base.with_columns(run=pl.lit(r), test_accuracy=pl.lit(a)) for r, a in accuracy.items())
    verdicts = {f.subject: f for f in privacy_findings("t", attacks, num_classes=10)}
    assert verdicts["synthetic-ddpm"].verdict == "uninformative"
    assert "Not comparable" in verdicts["synthetic-ddpm"].text
    assert "23.0% test accuracy against the real-only targets' 90.0%" in verdicts["synthetic-ddpm"].text
    assert {verdicts[r].verdict for r in ("real", "augmentation-ddpm")} == {"no interval"}
    # with no real-only run attacked, near chance is what makes targets too weak
    alone = attacks.filter(pl.col("run") == "synthetic-ddpm").with_columns(test_accuracy=pl.lit(0.15))
    assert privacy_findings("t", alone, num_classes=10)[0].verdict == "uninformative"


def test_a_report_without_lira_says_privacy_was_not_measured():
    """The default runs no LiRA: its report says so (and how to run it) instead of leaving privacy out."""
    from synthval.report.sections import lira_section

    text = str(lira_section({}, figure=None))
    assert "Not measured in this run" in text
    assert "privacy.lira.enabled" in text
    assert "<table" not in text


def test_a_study_without_lira_says_whether_its_targets_could_be_compared():
    """No LiRA (the default): the privacy finding says leakage was not measured, and by the weak-target rule
    on the study's own accuracies whether LiRA's comparison would say anything; nothing while LiRA is planned."""
    from synthval.report.build import Results
    from synthval.report.findings import unmeasured_privacy_finding

    def study(synthetic):
        rows = [("real", s, 0.946) for s in range(3)] + [("synthetic-ddpm", s, synthetic) for s in range(3)]
        return pl.DataFrame(rows, schema=["run", "seed", "accuracy"], orient="row").with_columns(
            eval_set=pl.lit("test")
        )

    strong = unmeasured_privacy_finding("t", study(0.922), num_classes=10)
    assert strong.verdict == "not measured"
    assert "not measured on <b>t</b>" in strong.text
    assert "strong enough to compare: the weakest, synthetic-ddpm, reaches 92.2%" in strong.text
    weak = unmeasured_privacy_finding("t", study(0.23), num_classes=10)
    assert "would be too weak to compare: synthetic-ddpm: they reach 23.0% test accuracy" in weak.text
    results = Results({"t": {"class_names": list("0123456789")}}, {}, {}, {}, {}, {"t": study(0.23)}, {})
    assert [f.verdict for f in results.findings() if f.topic == "privacy"] == ["not measured"]
    planned = Results({"t": {"class_names": list("0123456789")}}, {}, {}, {}, {}, {"t": study(0.23)}, {})
    planned = dataclasses.replace(planned, lira_planned=frozenset({"t"}))  # LiRA runs; its tables are not in yet
    assert [f for f in planned.findings() if f.topic == "privacy"] == []


def test_a_second_query_is_attacked_with_the_same_shadows_and_averaged():
    """privacy.lira.mirror: each attack's score is the mean of its per-query scores (the reference's
    score.py); two copies of one query score as that query, and an independent second look at the same
    membership signal (a known truth) makes the attack stronger, as the reference's mirror query does."""
    rng = np.random.default_rng(0)
    models, n = 8, 4000
    member = balanced_halves(n, models, seed=1)
    base = rng.normal(0, 1, n)
    one = base + 0.8 * member + rng.normal(0, 1, (models, n))
    two = np.stack([one, base + 0.8 * member + rng.normal(0, 1, (models, n))], axis=-1)
    same = lira_scores(np.stack([one, one], axis=-1), member, 0)
    for attack, score in lira_scores(one, member, 0).items():
        np.testing.assert_allclose(same[attack], score)
    single, summary = evaluate(one, member)[0], evaluate(two, member)[0]
    gain = {
        attack: summary.filter(pl.col("attack") == attack)["auc"][0] - auc
        for attack, auc in single.select("attack", "auc").iter_rows()
    }
    assert len(gain) == 4, gain
    assert min(gain.values()) > 0, gain
    assert gain["online_fixed_variance"] > 0.03, gain
