"""Training with generated data (Wang et al. 2024; Sehwag et al. 2022; Yuan et al. 2024): Real and Pretrained
Guidance, mixed batches, PGD, the recipes a config lays out, and the study's tables."""

import math

import numpy as np
import polars as pl
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit
from synthval.classifiers.guidance import (
    pairwise_distances,
    pgd_attack,
    pretrained_guidance_loss,
    project_synthetic_gradient,
    real_guidance_update,
)
from synthval.classifiers.trainer import batch_split
from synthval.config import ConfigError, validate_config
from synthval.evaluation.predict import predict_with_loss
from synthval.evaluation.study import accuracy_table, content_gap_table, method_summary, scaling_table
from synthval.recipes import REAL_TRAIN, Run, gap_sources, pool_scale, runs
from synthval.schema import SCHEMA_PATH

SCHEMA = SCHEMA_PATH


# --- Real Guidance (Wang et al. 2024 §4, eq. 2) ---


def test_real_guidance_projects_an_obtuse_synthetic_gradient_to_perpendicular():
    g_real = torch.tensor([1.0, 0.0, 0.0])
    g_syn = torch.tensor([-2.0, 3.0, 1.0])  # 116 degrees from g_real
    projected = project_synthetic_gradient(g_syn, g_real)
    torch.testing.assert_close(projected, torch.tensor([0.0, 3.0, 1.0]))
    assert torch.dot(projected, g_real).item() == pytest.approx(0.0, abs=1e-7)
    # not axis-aligned: still perpendicular, and only the component along g_real is removed
    g_real = torch.tensor([1.0, 2.0, -1.0])
    g_syn = torch.tensor([-1.0, -1.0, 0.5])
    projected = project_synthetic_gradient(g_syn, g_real)
    assert torch.dot(projected, g_real).item() == pytest.approx(0.0, abs=1e-6)
    cross = torch.linalg.cross(g_syn - projected, g_real)
    torch.testing.assert_close(cross, torch.zeros(3), atol=1e-6, rtol=0)
    # the update of eq. 2 with the paper's two weights
    update = real_guidance_update(g_real, g_syn, lambda_real=0.5, lambda_synthetic=2.0)
    torch.testing.assert_close(update, 0.5 * g_real + 2.0 * projected)


def test_real_guidance_leaves_an_acute_or_perpendicular_synthetic_gradient_unchanged():
    g_real = torch.tensor([1.0, 2.0, -1.0])
    for g_syn in (torch.tensor([0.5, 0.1, 0.3]), torch.tensor([2.0, -1.0, 0.0])):  # acute, perpendicular
        assert torch.equal(project_synthetic_gradient(g_syn, g_real), g_syn)
        torch.testing.assert_close(real_guidance_update(g_real, g_syn), g_real + g_syn)


# --- Pretrained Guidance (Wang et al. 2024 §4, eq. 1) ---


@pytest.mark.parametrize("loss", ["kl", "l1"])
def test_pretrained_guidance_is_zero_for_the_same_geometry_and_positive_otherwise(loss):
    gen = torch.Generator().manual_seed(0)
    guide = torch.randn(16, 8, generator=gen)
    # the trained network's features: other width, rotated and scaled; cosine distances are the same
    rotation, _ = torch.linalg.qr(torch.randn(12, 12, generator=gen))
    same = 3.0 * torch.cat([guide, torch.zeros(16, 4)], 1) @ rotation
    assert pretrained_guidance_loss(same, guide, "cosine", loss).item() == pytest.approx(0.0, abs=1e-5)
    assert pretrained_guidance_loss(guide, guide, "euclidean", loss).item() == 0.0
    other = torch.randn(16, 12, generator=gen, requires_grad=True)
    value = pretrained_guidance_loss(other, guide, "cosine", loss)
    assert value.item() > 1e-3
    value.backward()  # the trained features get a gradient ...
    assert other.grad.abs().sum() > 0


def test_pretrained_guidance_kl_matches_a_direct_computation():
    gen = torch.Generator().manual_seed(1)
    f_u, f_p = torch.randn(6, 5, generator=gen), torch.randn(6, 7, generator=gen)
    cos = lambda f: F.normalize(f, dim=1) @ F.normalize(f, dim=1).T  # noqa: E731
    expected = 0.0
    for i in range(6):
        p = np.array([(1 + cos(f_p)[i, j].item()) / 2 for j in range(6) if j != i])
        q = np.array([(1 + cos(f_u)[i, j].item()) / 2 for j in range(6) if j != i])
        p, q = p / p.sum(), q / q.sum()
        expected += float(np.sum(p * np.log(p / q))) / 6
    assert pretrained_guidance_loss(f_u, f_p).item() == pytest.approx(expected, rel=1e-4)
    d = pairwise_distances(f_u)
    assert torch.allclose(d, 1 - cos(f_u), atol=1e-6)
    assert torch.all(d.diagonal().abs() < 1e-6)


# --- the trainer with generated data ---


def _train(images, labels, seed=3, batch_size=16, epochs=2, **kwargs):
    torch.manual_seed(0)
    model = create_classifier("cnn", 4, 1, 8, width=8)
    settings = TrainSettings(epochs=epochs, save_epochs=[epochs], seed=seed, batch_size=batch_size)
    history, _ = fit(model, images, labels, settings, kwargs.pop("work_dir"), **kwargs)
    return model, history


def test_ratio_zero_is_real_only_training_bit_for_bit(tiny_images, tmp_path):
    images, labels = tiny_images
    synthetic = (np.flip(images, 1).copy(), labels)
    real_model, real_history = _train(images, labels, work_dir=tmp_path / "a")
    mixed_model, mixed_history = _train(images, labels, work_dir=tmp_path / "b", synthetic=synthetic, ratio=0.0)
    for key, value in real_model.state_dict().items():
        assert torch.equal(value, mixed_model.state_dict()[key]), key
    assert [(h["loss"], h["train_accuracy"]) for h in real_history] == [
        (h["loss"], h["train_accuracy"]) for h in mixed_history
    ]
    # and a positive ratio does use the synthetic images
    used, _ = _train(images, labels, work_dir=tmp_path / "c", synthetic=synthetic, ratio=1.0)
    assert not torch.equal(used.head.weight, real_model.head.weight)


def test_batch_split_follows_the_synthetic_to_real_ratio():
    assert batch_split(64, 0) == (64, 0)
    assert batch_split(64, 1) == (32, 32)
    assert batch_split(60, 2) == (20, 40)
    assert batch_split(8, 100) == (1, 7)  # always at least one real image
    with pytest.raises(ValueError, match="negative"):
        batch_split(64, -1)


def test_real_guidance_without_the_synthetic_weight_trains_on_the_real_half_only(tiny_images, tmp_path):
    """lambda_synthetic = 0 leaves g_real: the weights follow real-only training at the real share of
    the batch (batch-norm running statistics aside, which also see the synthetic forward pass)."""
    images, labels = tiny_images
    synthetic = (255 - images, labels)
    guided, _ = _train(
        images,
        labels,
        batch_size=16,
        work_dir=tmp_path / "rg",
        synthetic=synthetic,
        ratio=1.0,
        guidance=Guidance(real_guidance=True, lambda_synthetic=0.0),
    )
    real, _ = _train(images, labels, batch_size=8, work_dir=tmp_path / "real")
    for (name, a), b in zip(guided.named_parameters(), real.parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    # with the synthetic gradient in, the weights move elsewhere
    both, _ = _train(
        images,
        labels,
        batch_size=16,
        work_dir=tmp_path / "rg1",
        synthetic=synthetic,
        ratio=1.0,
        guidance=Guidance(real_guidance=True),
    )
    assert not torch.allclose(both.head.weight, real.head.weight)


def test_real_guidance_needs_both_sources(tiny_images, tmp_path):
    images, labels = tiny_images
    with pytest.raises(ValueError, match="Real Guidance needs real and synthetic images"):
        _train(images, labels, work_dir=tmp_path, guidance=Guidance(real_guidance=True))


def test_pretrained_guidance_changes_training_and_resumes(tiny_images, tmp_path):
    images, labels = tiny_images
    guide = create_classifier("mlp", 4, 1, 8, width=16).eval()
    plain, _ = _train(images, labels, work_dir=tmp_path / "plain", source="synthetic")
    guided, history = _train(
        images, labels, work_dir=tmp_path / "pg", source="synthetic", guidance=Guidance(guide=guide, pg_weight=5.0)
    )
    assert not torch.allclose(plain.head.weight, guided.head.weight)
    assert all(not p.requires_grad for p in guide.parameters())  # the guide stays frozen
    # a finished run resumes to the same weights without training again
    again, again_history = _train(
        images, labels, work_dir=tmp_path / "pg", source="synthetic", guidance=Guidance(guide=guide, pg_weight=5.0)
    )
    assert torch.equal(again.head.weight, guided.head.weight)
    assert again_history == history


def test_pgd_stays_in_the_ball_and_raises_the_loss(tiny_images):
    images, labels = tiny_images
    model = create_classifier("cnn", 4, 1, 8, width=8).eval()
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255
    y = torch.as_tensor(labels)
    adv = pgd_attack(model, x, y, epsilon=0.05, step_size=0.02, steps=5, gen=torch.Generator().manual_seed(0))
    assert (adv - x).abs().max() <= 0.05 + 1e-6
    assert adv.min() >= 0
    assert adv.max() <= 1
    with torch.no_grad():
        assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y)
    assert not model.training


def test_predict_with_loss_is_the_per_sample_cross_entropy(tiny_images):
    images, labels = tiny_images
    model = create_classifier("mlp", 4, 1, 8).eval()
    pred, _conf, loss = predict_with_loss(model, images, labels, batch_size=7)
    with torch.no_grad():
        logits = model(torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255)
    expected = F.cross_entropy(logits, torch.as_tensor(labels), reduction="none").numpy()
    np.testing.assert_allclose(loss, expected, rtol=1e-4, atol=1e-5)
    assert np.array_equal(pred, logits.argmax(1).numpy())


# --- recipes and the study's tables ---


def _config(**training):
    return validate_config({"generators": {"wgan": {}, "ddpm": {"family": "ddpm"}}, "training": training}, SCHEMA)


def test_the_schema_default_lays_out_every_method_per_generator_and_the_scaling_series():
    config = _config()
    names = [r.name for r in runs(config)]
    assert names.count("real") == 1
    assert "real-wgan" not in names
    for method in (
        "synthetic",
        "augmentation",
        "two_stage",
        "real_guidance",
        "pretrained_guidance",
        "synthetic_pg",
        "synthetic_x10",
    ):
        assert {f"{method}-wgan", f"{method}-ddpm"} <= set(names)
    assert "synthetic_x1-wgan" not in names  # the scaling series' 1x is the configured synthetic method
    by_name = {r.name: r for r in runs(config)}
    assert by_name["augmentation-wgan"].recipe == "real+synthetic:wgan:1"
    assert by_name["synthetic_x5-ddpm"].recipe == "synthetic:ddpm x5"
    assert by_name["real_guidance-ddpm"].recipe == "real+synthetic:ddpm:1 +rg"
    assert by_name["two_stage-wgan"].pretrain_epochs == config["training"]["epochs"]
    assert pool_scale(config, "wgan") == 10
    assert runs(_config(enabled=False)) == []
    # content-gap sets: the real-only run on every generator's synthetic images, the plain 1x
    # synthetic-only runs on the real train split, nothing else
    assert gap_sources(by_name["real"], config) == ["wgan", "ddpm"]
    assert gap_sources(by_name["synthetic-ddpm"], config) == [REAL_TRAIN]
    for other in ("synthetic_x5-ddpm", "synthetic_pg-ddpm", "augmentation-wgan"):
        assert gap_sources(by_name[other], config) == []
    longer = Run("real_2x_steps", None, "real", epochs=2 * config["training"]["epochs"])
    assert gap_sources(longer, config) == []  # a compute-matched control: the gap is the plain run's


def test_training_config_errors_name_the_key():
    with pytest.raises(
        ConfigError, match=r"training.methods.bad.real_guidance: Real Guidance needs data real\+synthetic"
    ):
        _config(methods={"bad": {"data": "synthetic", "real_guidance": True}})
    with pytest.raises(ConfigError, match=r"training.generators: 'sd' is not a configured generator"):
        _config(generators=["sd"])
    with pytest.raises(ConfigError, match=r"training.pretrained_guidance.weights: guide 'weights' needs"):
        _config(pretrained_guidance={"guide": "weights"})
    with pytest.raises(ConfigError, match=r"training.methods.x: unknown key\(s\): 'lr'"):
        _config(methods={"x": {"data": "real", "lr": 1}})


def _predictions(rows):
    return pl.DataFrame(
        rows,
        schema={
            "run": pl.String,
            "seed": pl.Int64,
            "eval_set": pl.String,
            "key": pl.String,
            "label": pl.Int64,
            "prediction": pl.Int64,
            "loss": pl.Float64,
        },
    )


def test_method_summary_pairs_seeds_with_the_real_baseline():
    runs_ = {
        "real": Run("real", None, "real").__dict__,
        "augmentation-wgan": Run("augmentation", "wgan", "real+synthetic").__dict__,
    }
    correct = {
        ("real", 0): 7,
        ("real", 1): 8,
        ("real", 2): 6,
        ("augmentation-wgan", 0): 9,
        ("augmentation-wgan", 1): 8,
        ("augmentation-wgan", 2): 8,
    }
    rows = [
        {
            "run": r,
            "seed": s,
            "eval_set": "test",
            "key": f"k{i}",
            "label": 0,
            "prediction": 0 if i < n else 1,
            "loss": 0.1,
        }
        for (r, s), n in correct.items()
        for i in range(10)
    ]
    accuracy = accuracy_table(_predictions(rows), runs_)
    summary = method_summary(accuracy)
    aug = summary.filter(pl.col("run") == "augmentation-wgan").row(0, named=True)
    gains = [0.2, 0.0, 0.2]
    half = stats.t.ppf(0.975, 2) * np.std(gains, ddof=1) / math.sqrt(3)
    assert aug["accuracy"] == pytest.approx(25 / 30)
    assert aug["gain"] == pytest.approx(np.mean(gains))
    assert (aug["gain_low"], aug["gain_high"]) == pytest.approx((np.mean(gains) - half, np.mean(gains) + half))
    real = summary.filter(pl.col("run") == "real").row(0, named=True)
    assert real["gain"] == 0
    assert real["seeds"] == 3
    assert scaling_table(summary).is_empty()  # no synthetic-only run


def test_content_gap_pairs_each_source_with_the_other_sources_classifier():
    runs_ = {
        "real": Run("real", None, "real").__dict__,
        "synthetic-wgan": Run("synthetic", "wgan", "synthetic").__dict__,
    }
    rows = [
        {"run": "real", "seed": 0, "eval_set": "wgan", "key": "s1", "label": 1, "prediction": 1, "loss": 0.01},
        {"run": "real", "seed": 0, "eval_set": "test", "key": "t1", "label": 1, "prediction": 1, "loss": 0.2},
        {
            "run": "synthetic-wgan",
            "seed": 0,
            "eval_set": "real_train",
            "key": "r1",
            "label": 2,
            "prediction": 0,
            "loss": 2.5,
        },
    ]
    gap = content_gap_table(_predictions(rows), runs_)
    assert gap.select("direction", "generator", "key", "loss").rows() == [
        ("real under synthetic", "wgan", "r1", 2.5),
        ("synthetic under real", "wgan", "s1", 0.01),
    ]
