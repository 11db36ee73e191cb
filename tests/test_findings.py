"""The report's findings are records whose verdicts follow their intervals against named thresholds,
and its figures have one entry point, shared by the rules that make them and the report's fallbacks."""

import math

import polars as pl
import pytest

from synthval.io import write_frame
from synthval.layout import COPY_PLOTS, RESULT_PLOTS, STUDY_PLOTS, TRAINING_PLOTS
from synthval.report.figures import FIGURES, content_gap_histograms, result_figure
from synthval.report.findings import (
    NO_DIFFERENCE,
    RANK_WORDING,
    STRONG_RHO,
    difference_verdict,
    protocol_findings,
    rank_findings,
    rank_verdict,
    training_findings,
)
from synthval.selection.ranking import ALL, TRAIN_MEMBERS

NAN = math.nan


@pytest.mark.parametrize(
    ("rho", "low", "high", "verdict"),
    [
        (0.9, STRONG_RHO, 0.95, "strong"),  # the whole interval at or above the threshold
        (0.9, STRONG_RHO - 0.01, 0.95, "positive"),  # a high point estimate does not make it strong
        (0.3, 0.01, 0.6, "positive"),
        (0.3, -0.1, 0.6, "unclear"),
        (-0.5, -0.8, -0.1, "reversed"),
        (0.5, NAN, NAN, "no interval"),
        (NAN, NAN, NAN, "undefined"),
    ],
)
def test_a_rank_verdict_follows_its_interval(rho, low, high, verdict):
    assert rank_verdict(rho, low, high) == verdict and verdict in RANK_WORDING


def test_a_difference_is_one_only_when_its_interval_excludes_zero():
    assert NO_DIFFERENCE == 0.0
    assert difference_verdict(-0.02, -0.001) == "below" and difference_verdict(0.001, 0.02) == "above"
    assert difference_verdict(-0.02, 0.01) == "unclear" and difference_verdict(NAN, NAN) == "no interval"


def _rank_row(group, rho, low, high):
    return {
        "eval_set": "ddpm",
        "ranked": TRAIN_MEMBERS,
        "group": group,
        "n_models": 8,
        "n_configs": 4,
        "spearman": rho,
        "spearman_low": low,
        "spearman_high": high,
        "kendall": rho * 0.8,
        "interval": "BCa bootstrap",
        "interval_unit": "configurations",
    }


def test_rank_findings_are_records_with_the_interval_and_its_wording():
    rank = pl.DataFrame([_rank_row(ALL, 0.8, 0.72, 0.9), _rank_row("cnn", -0.2, -0.6, 0.3)])
    (finding,) = rank_findings("train1000", rank, pl.Series([0.01, 0.04]))
    assert (finding.topic, finding.trainset, finding.verdict) == ("rank", "train1000", "strong")
    assert (finding.estimate, finding.low, finding.high) == (0.8, 0.72, 0.9)
    assert "rho = 0.800 [0.720, 0.900]" in finding.text and RANK_WORDING["strong"] in finding.text
    assert "test errors span 1.00% to 4.00%" in finding.text
    # the pooled rho hides a group ranked at rho <= 0, and the finding says so
    assert "cnn rho = -0.200 [-0.600, 0.300]" in finding.text and "hides the cnn group" in finding.text


def test_a_protocol_difference_whose_range_includes_zero_is_not_called_a_difference():
    rows = [
        ("synthetic protocol", 0.030, 0.02, 0.04, "cnn-base-s0@12"),
        ("standard protocol", 0.032, 0.02, 0.04, "cnn-base"),
        ("synthetic minus standard", -0.002, -0.01, 0.005, ""),
        ("oracle", 0.020, 0.02, 0.02, "cnn-base-s1@12"),
    ]
    protocols = pl.DataFrame(
        [
            {"eval_set": "ddpm", "group": ALL, "protocol": p, "test_error": e, "low": lo, "high": hi, "chosen": c}
            for p, e, lo, hi, c in rows
        ]
    )
    (finding,) = protocol_findings("train1000", protocols)
    assert finding.verdict == "unclear" and "is not clearly different from the standard protocol" in finding.text
    assert "set minus standard -0.20 points [-1.00, +0.50]" in finding.text
    better = protocols.with_columns(high=pl.when(pl.col("protocol") == "synthetic minus standard").then(-0.001))
    assert protocol_findings("train1000", better.fill_null(0.04))[0].verdict == "below"


def test_training_findings_call_a_gain_only_when_its_interval_excludes_zero():
    summary = pl.DataFrame(
        {
            "run": ["real", "synthetic-ddpm", "mixed-ddpm"],
            "method": ["real", "synthetic", "mixed"],
            "seeds": [3, 3, 3],
            "accuracy": [0.95, 0.80, 0.955],
            "low": [0.94, 0.78, 0.95],
            "high": [0.96, 0.82, 0.96],
            "gain": [0.0, -0.15, 0.005],
            "gain_low": [NAN, -0.17, -0.002],
            "gain_high": [NAN, -0.13, 0.012],
        }
    )
    base, mixed, synthetic = training_findings("train1000", summary)
    assert base.verdict == "baseline" and "real-only training reaches 95.00 [94.0, 96.0]%" in base.text
    assert (mixed.subject, mixed.verdict) == ("mixed-ddpm", "unclear") and "has no clear effect" in mixed.text
    assert (synthetic.verdict, synthetic.estimate) == ("below", -0.15) and "hurts, -15.00 points" in synthetic.text


def test_every_figure_of_the_workflow_has_one_entry_point(tmp_path):
    # generator_live: a generator's history while it trains (drawn by the report only)
    assert set(FIGURES) == {
        "generator_history",
        "generator_live",
        *RESULT_PLOTS,
        *TRAINING_PLOTS,
        *COPY_PLOTS,
        *STUDY_PLOTS,
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
