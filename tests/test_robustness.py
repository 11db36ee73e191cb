"""Distribution shift: the corruptions (synthval.data.corruptions) and the summary over seeds
(synthval.evaluation.robustness)."""

import numpy as np
import polars as pl
import pytest

from synthval.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, corrupted_set, severity_of
from synthval.data.images import ImageSet
from synthval.evaluation.robustness import CLEAN, MEAN_CORRUPTION, robustness_summary, strongest_shift


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    smooth = np.kron(rng.integers(40, 215, (6, 4, 4, 3)), np.ones((1, 4, 4, 1))).astype(np.uint8)  # 16x16 blocks
    return smooth


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_corruption_is_deterministic_and_grows_with_severity(images, name):
    outs = [corrupt(images, name, s, seed=5) for s in SEVERITIES]
    again = corrupt(images, name, 3, seed=5)
    assert np.array_equal(outs[2], again)  # same seed, corruption and severity: the same bytes
    assert all(o.dtype == np.uint8 and o.shape == images.shape for o in outs)
    change = [np.abs(o.astype(float) - images).mean() for o in outs]
    assert change[-1] > change[0] > 0  # severity 5 changes the images more than severity 1


def test_noise_depends_on_the_seed_and_greyscale_works(images):
    a, b = corrupt(images, "gaussian_noise", 2, seed=0), corrupt(images, "gaussian_noise", 2, seed=1)
    assert not np.array_equal(a, b)
    grey = images[..., :1]
    for name in CORRUPTIONS:
        assert corrupt(grey, name, 5, seed=0).shape == grey.shape


def test_contrast_matches_its_definition(images):
    x = images.astype(float) / 255
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    expected = np.clip(np.rint(((x - mean) * 0.4 + mean) * 255), 0, 255)
    assert np.array_equal(corrupt(images, "contrast", 3, seed=0), expected.astype(np.uint8))


def test_corrupted_set_keys_severities_and_refusals(images):
    shifted = corrupted_set(ImageSet([f"k{i}" for i in range(6)], images, np.arange(6)), "pixelate", seed=0)
    assert len(shifted) == 30
    assert shifted.keys[0] == "k0-pixelate-1"
    assert shifted.keys[-1] == "k5-pixelate-5"
    assert severity_of(shifted.keys).tolist() == [s for s in SEVERITIES for _ in range(6)]
    assert np.array_equal(shifted.labels, np.tile(np.arange(6), 5))
    with pytest.raises(ValueError, match="unknown corruption 'fog'"):
        corrupt(images, "fog", 1, seed=0)
    with pytest.raises(ValueError, match="severity 6 outside 1-5"):
        corrupt(images, "contrast", 6, seed=0)


def test_summary_pairs_the_drop_by_seed_and_averages_the_corruptions():
    rows = []
    for seed, clean in enumerate([0.90, 0.92, 0.94]):
        rows.append({"run": "real", "seed": seed, "shift": CLEAN, "severity": 0, "accuracy": clean, "images": 10})
        for shift, loss in (("blur", 0.10), ("noise", 0.30)):
            rows.append(
                {"run": "real", "seed": seed, "shift": shift, "severity": 5, "accuracy": clean - loss, "images": 10}
            )
    summary = robustness_summary(pl.DataFrame(rows), ["blur", "noise"])
    mean = summary.filter(pl.col("shift") == MEAN_CORRUPTION).row(0, named=True)
    assert mean["accuracy"] == pytest.approx(0.92 - 0.20)
    assert mean["drop"] == pytest.approx(0.20)
    assert mean["drop_low"] == pytest.approx(0.20)
    assert mean["drop_high"] == pytest.approx(0.20)
    assert mean["seeds"] == 3
    blur = summary.filter(pl.col("shift") == "blur").row(0, named=True)
    assert blur["low"] < blur["accuracy"] < blur["high"]  # the seeds' clean accuracies differ
    strongest = strongest_shift(summary)
    assert strongest["shift"].to_list() == [MEAN_CORRUPTION]
    assert strongest["severity"].to_list() == [5]


def test_findings_word_the_excess_drop_by_its_interval():
    from synthval.report.findings import robustness_findings

    rows = []
    # 10 seeds: the units from which the benchmark supports a paired verdict (synthval.inference.MIN_UNITS)
    step = [0, 1, 2] * 3 + [1]
    for seed, clean in enumerate([0.90, 0.92, 0.94] * 3 + [0.92]):
        for run, loss in (
            ("real", 0.30),
            ("synthetic-ddpm", 0.20 + 0.01 * step[seed]),
            ("same", 0.30 + 0.02 * (step[seed] - 1)),
        ):
            rows.append({"run": run, "seed": seed, "shift": CLEAN, "severity": 0, "accuracy": clean, "images": 10})
            rows.append(
                {"run": run, "seed": seed, "shift": "blur", "severity": 5, "accuracy": clean - loss, "images": 10}
            )
    found = {f.subject: f for f in robustness_findings("t", robustness_summary(pl.DataFrame(rows), ["blur"]))}
    assert found["real"].verdict == "baseline"
    assert "drops 30.0 points" in found["real"].text
    assert found["synthetic-ddpm"].verdict == "below"
    assert "loses less than real-only" in found["synthetic-ddpm"].text
    assert found["synthetic-ddpm"].estimate == pytest.approx(-0.09)
    assert found["same"].verdict == "unclear"
    assert "no clear difference" in found["same"].text
    assert found["synthetic-ddpm"].p_value < 0.05  # the excess drop's paired t-test joins the report's family
    # three seeds: described, no verdict and no test
    few = robustness_findings("t", robustness_summary(pl.DataFrame([r for r in rows if r["seed"] < 3]), ["blur"]))
    few = {f.subject: f for f in few}
    assert few["synthetic-ddpm"].verdict == "too few"
    assert few["synthetic-ddpm"].p_value != few["synthetic-ddpm"].p_value


def test_the_summary_is_the_same_to_the_last_bit_whatever_the_order_of_the_scores():
    """Sums over seeds in a fixed order: scores read in any row order give the same summary bytes."""
    rng = np.random.default_rng(0)
    rows = [
        {"run": run, "seed": seed, "shift": shift, "severity": sev, "accuracy": float(rng.random()), "images": 97}
        for run in ("real", "synthetic")
        for seed in range(5)
        for shift, sev in ((CLEAN, 0), ("blur", 1), ("blur", 5), ("noise", 1), ("noise", 5))
    ]
    scores = pl.DataFrame(rows)
    first = robustness_summary(scores, ["blur", "noise"])
    for trial in range(5):
        shuffled = scores.sample(fraction=1.0, shuffle=True, seed=trial)
        assert robustness_summary(shuffled, ["blur", "noise"]).equals(first, null_equal=True)
