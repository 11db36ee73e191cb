"""The report's findings are records whose verdicts follow their intervals against named thresholds,
and its figures have one entry point, shared by the rules that make them and the report's fallbacks."""

import math

import polars as pl
import pytest

from synthval.inference import MIN_CONFIGURATIONS, fisher_bounds
from synthval.io import write_frame
from synthval.plan.paths import COPY_PLOTS, RESULT_PLOTS, STUDY_PLOTS, TRAINING_PLOTS
from synthval.report.figures import FIGURES, content_gap_histograms, result_figure
from synthval.report.findings import (
    NO_DIFFERENCE,
    RANK_WORDING,
    STRONG_RHO,
    difference_verdict,
    family_line,
    protocol_findings,
    rank_findings,
    rank_verdict,
    settle,
    training_findings,
)
from synthval.selection.ranking import ALL, POOLED, TRAIN_MEMBERS

NAN = math.nan


@pytest.mark.parametrize(
    ("rho", "low", "high", "n", "verdict"),
    [
        (0.9, STRONG_RHO, 0.95, 8, "strong"),  # the whole interval at or above the threshold
        (0.9, STRONG_RHO - 0.01, 0.95, 8, "positive"),  # a high point estimate does not make it strong
        (0.3, 0.01, 0.6, 8, "positive"),
        (0.3, -0.1, 0.6, 8, "unclear"),
        (-0.5, -0.8, -0.1, 8, "reversed"),
        (1.0, 0.9, 1.0, MIN_CONFIGURATIONS - 1, "too few"),  # below the size the benchmark supports
        (0.5, NAN, NAN, 3, "too few"),
        (NAN, NAN, NAN, 8, "undefined"),
    ],
)
def test_a_rank_verdict_follows_its_interval_and_size(rho, low, high, n, verdict):
    assert rank_verdict(rho, low, high, n) == verdict
    assert verdict in RANK_WORDING


def test_a_difference_is_one_only_when_its_interval_excludes_zero():
    assert NO_DIFFERENCE == 0.0
    assert difference_verdict(-0.02, -0.001) == "below"
    assert difference_verdict(0.001, 0.02) == "above"
    assert difference_verdict(-0.02, 0.01) == "unclear"
    assert difference_verdict(NAN, NAN) == "too few"


def _rank_row(group, rho, low, high, n=8, p=0.001, question="architecture", holds=True):
    """A question row of the rank table (synthval.selection.ranking), over n architectures."""
    return {
        "eval_set": "ddpm",
        "ranked": TRAIN_MEMBERS,
        "group": group,
        "n_models": 2 * n,
        "n_configs": n,
        "spearman": rho,
        "spearman_low": low,
        "spearman_high": high,
        "kendall": NAN,
        "p_value": p,
        "interval": "Fisher z (Bonett-Wright) over architectures",
        "interval_unit": "architectures",
        "configs_needed": None,
        "question": question,
        "statistic": "Spearman rho over architecture means",
        "n_units": n,
        "se": 0.0,
        "scale": "fisher",
        "df": n - 3,
        "pairs": 0,
        "disjoint": True,
        "design": f"{n} architectures x 1 variant x 2 seeds",
        "design_holds": holds,
        "units_needed": None,
    }


def _pooled_row(group, rho, low, high, n=8):
    return {
        **_rank_row(group, rho, low, high, n),
        "question": POOLED,
        "statistic": "Spearman rho over configurations",
        "interval": "Fisher z, Bonett-Wright variance",
        "interval_unit": "configurations",
        "design_holds": None,
    }


def test_rank_findings_are_records_with_the_interval_and_its_wording():
    rows = [
        _pooled_row(ALL, 0.8, 0.72, 0.9),
        _rank_row(ALL, 0.8, 0.72, 0.9),
        _pooled_row("cnn", -0.6, -0.9, -0.1),
        _rank_row("cnn", -0.6, -0.9, -0.1, p=0.01),
    ]
    pooled, arch, _, group = settle(rank_findings("train1000", pl.DataFrame(rows), pl.Series([0.01, 0.04])))
    # the rho over configurations pooled as if independent is described, never concluded, and tests nothing
    assert (pooled.question, pooled.verdict) == (POOLED, "described")
    assert math.isnan(pooled.adjusted_p)
    assert "hides the cnn group" in pooled.text
    assert "test errors span 1.00% to 4.00%" in pooled.text
    assert (arch.topic, arch.trainset, arch.question, arch.group) == ("rank", "train1000", "architecture", ALL)
    assert (arch.estimate, arch.low, arch.high) == (0.8, 0.72, 0.9)
    assert "= 0.800 [0.720, 0.900]" in arch.text
    assert "Holm-adjusted 0.002" in arch.text
    assert "the simulation of this design holds" in arch.text
    assert "disjoint seeds" in arch.text
    # 0.72 is above 0.7, but over 8 architectures the interval adjusted for 2 tests is not: positive, not strong
    assert arch.verdict == "positive"
    assert (group.group, group.verdict) == ("cnn", "reversed")
    assert group.adjusted_p == pytest.approx(0.01)


def test_strong_needs_the_interval_adjusted_for_the_reports_tests():
    low, high = fisher_bounds(0.97, 40)
    strong = _rank_row(ALL, 0.97, float(low), float(high), n=40, p=1e-4)
    (one,) = settle(rank_findings("t", pl.DataFrame([strong]), None))
    assert one.verdict == "strong"
    assert RANK_WORDING["strong"] in one.text
    # the same row among 200 tests: its Bonferroni interval (level 1 - 0.05/200) reaches below 0.7... or not
    many = [strong] + [{**_rank_row(f"g{i}", 0.1, -0.2, 0.4, n=40, p=0.6), "eval_set": f"s{i}"} for i in range(199)]
    first = settle(rank_findings("t", pl.DataFrame(many), None))[0]
    adjusted_low = float(fisher_bounds(0.97, 40, 1 - 0.05 / 200)[0])
    assert first.verdict == ("strong" if adjusted_low >= STRONG_RHO else "positive")


def test_a_rank_verdict_needs_its_size_its_design_and_survives_the_correction_or_not():
    few = pl.DataFrame([_rank_row(ALL, 1.0, NAN, NAN, n=3, p=1 / 3, holds=None)])
    (finding,) = settle(rank_findings("train1000", few, None))
    assert finding.verdict == "too few"
    assert "too few units to conclude (have 3 architectures" in finding.text
    assert math.isnan(finding.adjusted_p)  # nothing was tested, so nothing joins the family
    # an interval that excludes 0 at a design whose simulation did not hold: no verdict, no test
    (failing,) = settle(rank_findings("t", pl.DataFrame([_rank_row(ALL, 0.9, 0.5, 0.97, holds=False)]), None))
    assert failing.verdict == "design fails"
    assert math.isnan(failing.adjusted_p)
    assert "the simulation of this design does not hold" in failing.text
    # a question the design cannot ask
    seedless = {**_rank_row(ALL, NAN, NAN, NAN, n=0, p=NAN, question="seed", holds=None), "n_units": 0}
    (unasked,) = settle(rank_findings("t", pl.DataFrame([seedless]), None))
    assert unasked.verdict == "not asked"
    assert "one seed a configuration" in unasked.text
    # one positive ranking among many tests: its p of 0.01 is not significant once 10 are corrected, and the
    # architectures it would need are worked out at 80% power over those 10 tests
    rows = [_rank_row(ALL, 0.6, 0.1, 0.9, p=0.01)] + [
        {**_rank_row(f"g{i}", 0.1, -0.5, 0.6, p=0.6), "eval_set": f"s{i}"} for i in range(9)
    ]
    found = settle(rank_findings("train1000", pl.DataFrame(rows), None))
    assert found[0].adjusted_p == pytest.approx(0.1)
    assert found[0].verdict == "unclear"
    assert "after the Holm correction" in found[0].text
    assert found[0].needed > 8
    assert f"about {found[0].needed} architectures would settle" in found[0].text
    assert family_line(found).startswith("Verdicts are corrected for multiplicity with Holm's method over the 10 tests")


def _protocols(diff_low, diff_high, p):
    rows = [
        ("synthetic protocol", 0.030, 0.02, 0.04, "cnn-base-s0@12", NAN),
        ("standard protocol", 0.032, 0.02, 0.04, "cnn-base", NAN),
        ("synthetic minus standard", -0.002, -0.01, 0.005, "", NAN),
        ("oracle", 0.020, 0.02, 0.02, "cnn-base-s1@12", NAN),
        ("ES minus baseline", -0.004, diff_low, diff_high, "", p),
    ]
    return pl.DataFrame(
        [
            {
                "eval_set": "ddpm",
                "group": ALL,
                "protocol": name,
                "test_error": e,
                "low": lo,
                "high": hi,
                "chosen": c,
                "units": 12,
                "interval_unit": "architectures (test images fixed: test-image sampling noise not included)",
                "p_value": p_value,
            }
            for name, e, lo, hi, c, p_value in rows
        ]
    )


def test_protocol_findings_conclude_from_paired_differences_and_describe_hps():
    es, hps = settle(protocol_findings("train1000", _protocols(-0.01, 0.002, 0.2)))
    assert es.verdict == "unclear"
    assert "is not clearly different from the last epoch" in es.text
    assert "-0.40 points [-1.00, +0.20] of test error, paired over 12 architectures" in es.text
    assert hps.verdict == "no verdict"
    assert "set minus standard -0.20 points [-1.00, +0.50]" in hps.text
    better, _ = settle(protocol_findings("train1000", _protocols(-0.008, -0.001, 0.001)))
    assert better.verdict == "below"
    assert "picks models with lower test error than" in better.text


def test_training_findings_call_a_gain_only_when_its_interval_excludes_zero():
    summary = pl.DataFrame(
        {
            "run": ["real", "synthetic-ddpm", "mixed-ddpm"],
            "method": ["real", "synthetic", "mixed"],
            "seeds": [10, 10, 10],
            "accuracy": [0.95, 0.80, 0.955],
            "low": [0.94, 0.78, 0.95],
            "high": [0.96, 0.82, 0.96],
            "gain": [0.0, -0.15, 0.005],
            "gain_low": [NAN, -0.17, -0.002],
            "gain_high": [NAN, -0.13, 0.012],
            "gain_p": [NAN, 0.001, 0.3],
        }
    )
    base, mixed, synthetic = settle(training_findings("train1000", summary))
    assert base.verdict == "baseline"
    assert "real-only training reaches 95.00 [94.0, 96.0]%" in base.text
    assert (mixed.subject, mixed.verdict) == ("mixed-ddpm", "unclear")
    assert "has no clear effect" in mixed.text
    assert (synthetic.verdict, synthetic.estimate) == ("below", -0.15)
    assert "hurts, -15.00 points" in synthetic.text
    assert synthetic.adjusted_p == pytest.approx(0.002)
    # three seeds: below the units the benchmark supports, the gain is described without a verdict or a test
    few = settle(training_findings("train1000", summary.with_columns(seeds=pl.lit(3))))
    assert few[2].verdict == "too few"
    assert math.isnan(few[2].adjusted_p)
    assert "no verdict" in few[2].text


def test_every_figure_of_the_workflow_has_one_entry_point(tmp_path):
    # generator_live: a generator's history while it trains (drawn by the report only)
    assert set(FIGURES) == {
        "generator_history",
        "generator_live",
        *RESULT_PLOTS,
        *TRAINING_PLOTS,
        *COPY_PLOTS,
        *STUDY_PLOTS,
        "worth",  # the real-image curve (drawn by the report only)
    }
    gap = pl.DataFrame(
        {
            "direction": ["synthetic under real"] * 3 + ["real under synthetic"] * 3,
            "generator": ["ddpm"] * 6,
            "loss": [0.01, 0.2, 1.5, 0.05, 0.4, 2.0],
        }
    )
    write_frame(tmp_path / "content_gap.parquet", gap)  # as the jobs write tables
    result_figure("content_gap", [tmp_path / "content_gap.parquet"], tmp_path / "a.png", trainset="train1000")
    content_gap_histograms(gap, tmp_path / "b.png", title="content gap on train1000")  # as the rule drew it by hand
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with pytest.raises(KeyError):
        result_figure("scatter", [], tmp_path / "c.png", trainset="train1000")
