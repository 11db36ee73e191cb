import inspect
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from synthval.config import ARCHITECTURE_KEYS, generator_spec, split_generator_settings
from synthval.data import write_sharded
from synthval.data.images import decode_png
from synthval.data.stream import ManifestImages, ShardStream
from synthval.generators import (
    Generator,
    PerClassGenerator,
    base,
    conditioned_training_set,
    create_generator,
    load_generator,
    merge_stats,
    pseudo_labelled_sample,
    sample_images,
    sample_with,
    save_generator,
    train_generator,
)
from synthval.generators.synthesis import shard_labels
from synthval.live import read_live_log
from synthval.metrics.frechet import frechet_distance, gaussian_stats

# Tiny but complete settings of every trainable family (8x8 grey images, 4 classes).
FAMILIES = {
    "wgan_gp": {"width": 4, "latent_dim": 8, "n_critic": 2},
    "sngan": {"width": 4, "latent_dim": 8, "n_critic": 1},
    "ddpm": {"block_channels": [8, 8], "sampling_steps": 3, "guidance_scale": 2.0, "ema_decay": 0.9},
    # a tiny randomly initialised pipeline (the sd_pipeline fixture): LoRA with the MMD term, visual
    # guidance and the latent prior all on
    "stable_diffusion": {
        "resolution": 32,
        "sampling_steps": 3,
        "lora_rank": 2,
        "visual_guidance": True,
        "latent_prior": True,
        "mmd_weight": 1.0,
        "visual_samples": 3,
        "lr": 1e-3,
    },
}
SD_PIPELINE: list[str] = []  # set by the autouse fixture below


@pytest.fixture(autouse=True)
def _sd_pipeline(request):
    if "stable_diffusion" in request.node.name:
        SD_PIPELINE[:] = [str(request.getfixturevalue("sd_pipeline"))]


def build(family, num_classes=4, **overrides):
    settings = {**FAMILIES[family], **overrides}
    if family == "stable_diffusion":
        settings["pipeline"] = SD_PIPELINE[0]
    arch, train = split_generator_settings(family, settings)
    model = create_generator(family, num_classes, 1, 8, **arch)
    return model, train


def sample_from(model, labels, seed, images=None):
    """Sample; a latent-prior model starts from the training images (here: tiny_images)."""
    if getattr(model, "latent_prior", False):
        model.set_prior(*images, [f"real-{i}" for i in range(len(images[0]))])
    return sample_images(model, labels, seed=seed)


def fit(family, images, labels, path, seed=0, **kwargs):
    torch.manual_seed(seed)  # each job is a fresh process that seeds before building its model
    model, settings = build(family)
    if getattr(model, "latent_prior", False) and isinstance(images, ShardStream):  # decoded where drawn
        lazy = ManifestImages(images.manifest)
        model.set_prior(lazy, lazy.labels, lazy.keys)
    elif getattr(model, "latent_prior", False):  # as the workflow's job does: checkpoints sample from the prior
        model.set_prior(images, labels, [f"real-{i}" for i in range(len(images))])
    record = train_generator(
        model,
        images,
        labels,
        batch_size=8,
        seed=seed,
        resume_path=path,
        **{"iterations": 4, "checkpoint_every": 2, **settings, **kwargs},
    )
    return model, record


@pytest.mark.parametrize(("classes", "per_class", "shards"), [(10, 7, 3), (4, 5, 4), (3, 1, 5)])
def test_shard_labels_cover_the_balanced_set_exactly(classes, per_class, shards):
    parts = [shard_labels(classes, per_class, shards, i) for i in range(shards)]
    assert np.bincount(np.concatenate(parts), minlength=classes).tolist() == [per_class] * classes
    for part in parts:
        if len(part):
            counts = np.bincount(part, minlength=classes)
            assert counts.max() - counts.min() <= 1


def test_the_architecture_table_is_each_trained_familys_constructor():
    """config.ARCHITECTURE_KEYS (torch-free, what the plan splits a section by) lists exactly the keywords
    each trained family's generator takes, so a new keyword cannot land among the training settings."""
    trained = {name: f for name, f in base._FAMILIES.items() if f.trainer is not None}
    assert set(ARCHITECTURE_KEYS) == set(trained)
    for name, family in trained.items():
        keywords = list(inspect.signature(family.generator.__init__).parameters)
        assert list(ARCHITECTURE_KEYS[name]) == keywords[4:], name  # after self, num_classes, in_chans, image_size


def test_a_generator_spec_decides_the_family_labels_architecture_and_training_once():
    section = {
        "family": "ddpm",
        "conditioning": "pseudo_label",
        "eval_samples": 50,
        "confidence": 0.9,
        "max_draws": 5,
        "block_channels": [8, 8],
        "iterations": 10,
        "lr": 1e-3,
        "eval_every": 0,
    }
    spec = generator_spec(section)
    assert spec == {
        "family": "ddpm",
        "conditioning": "pseudo_label",
        "eval_samples": 50,
        "architecture": {"block_channels": [8, 8]},
        "training": {"eval_every": 0, "iterations": 10, "lr": 1e-3},  # not the synthesis-only keys
    }
    images, labels = np.arange(6 * 4).reshape(6, 2, 2, 1), np.array([0, 1, 2, 0, 1, 2])
    keys = [f"k{i}" for i in range(6)]
    _, y, k, n = conditioned_training_set("pseudo_label", images, labels, keys, 3)
    assert (y == 0).all()
    assert k == keys
    assert n == 1
    x, y, k, n = conditioned_training_set("per_class", images, labels, keys, 3, cls=2)
    assert (x == images[[2, 5]]).all()
    assert (y == 0).all()
    assert k == ["k2", "k5"]
    assert n == 1
    x, y, k, n = conditioned_training_set("class", images, labels, keys, 3)
    assert x is images
    assert y is labels
    assert n == 3


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_trains_samples_deterministically_and_round_trips(tmp_path, tiny_images, family):
    images, labels = tiny_images
    model, record = fit(family, images, labels, tmp_path / "state.safetensors", iterations=3)
    assert record["chosen_step"] == 3
    assert record["history"][-1]["step"] == 3
    assert record["selection"] == "last step"
    assert not (tmp_path / "state.safetensors").exists()  # cleared once training finished
    y = np.array([0, 1, 2, 3, 0, 1])
    a, b = sample_from(model, y, 1, tiny_images), sample_from(model, y, 1, tiny_images)
    c = sample_from(model, y, 2, tiny_images)
    assert a.shape == (6, 8, 8, 1)
    assert a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    save_generator(tmp_path / "g.safetensors", model, record)
    np.testing.assert_array_equal(sample_from(load_generator(tmp_path / "g.safetensors"), y, 1, tiny_images), a)


# every family on a held split; a GAN and Stable Diffusion (visual guidance from a class-balanced sample of
# the stream, a latent prior decoded where drawn) on a streamed one, whose position in its pass is resumed
@pytest.mark.parametrize(
    ("family", "streamed"), [(f, False) for f in sorted(FAMILIES)] + [("wgan_gp", True), ("stable_diffusion", True)]
)
def test_a_killed_run_resumes_to_the_uninterrupted_weights(tmp_path, tiny_images, monkeypatch, family, streamed):
    images, labels = tiny_images
    if streamed:
        write_sharded(tmp_path / "set", [f"real-{i}" for i in range(len(images))], images, labels, 10, "unit")
        images, labels = ShardStream(tmp_path / "set" / "manifest.json", shuffle=True, buffer=8, seed=0), None
    scores = iter(range(100, 0, -1))  # every score is a new best, so the best-checkpoint state is resumed too
    kwargs = {"eval_every": 2, "iterations": 6}
    ref, ref_record = fit(
        family, images, labels, tmp_path / "ref.safetensors", score=lambda sample, n: float(next(scores)), **kwargs
    )

    class Killed(RuntimeError):
        pass

    real_save = base.ResumeState.save
    saves = []

    def save_then_die(self, state):
        real_save(self, state)
        saves.append(state["step"])
        if state["step"] == 4:  # the second checkpoint: the first was already resumable
            raise Killed

    monkeypatch.setattr(base.ResumeState, "save", save_then_die)
    scores = iter(range(100, 0, -1))
    # the interrupted run also writes sample grids, which must not change what it learns
    kwargs["grid_every"] = 2
    with pytest.raises(Killed):
        fit(family, images, labels, tmp_path / "run.safetensors", score=lambda sample, n: float(next(scores)), **kwargs)
    monkeypatch.setattr(base.ResumeState, "save", real_save)
    assert saves == [2, 4]
    scores = iter(range(98, 0, -1))  # the state carries the two scores already taken
    resumed, record = fit(
        family,
        images,
        labels,
        tmp_path / "run.safetensors",
        seed=0,
        score=lambda sample, n: float(next(scores)),
        **kwargs,
    )
    assert [h["step"] for h in record["scores"]] == [2, 4, 6]
    assert record["chosen_step"] == 6
    assert record["history"] == ref_record["history"]
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    # what was appended while it ran, once each across the kill: every loss and score record
    live = read_live_log(base.live_log_path(tmp_path / "run.safetensors"))
    assert live == sorted([*record["history"], *record["scores"]], key=lambda r: r["step"])
    grids = sorted(p.name for p in Path(base.live_grid_folder(tmp_path / "run.safetensors")).iterdir())
    assert grids == ["step-000002.png", "step-000004.png", "step-000006.png"]
    grid = decode_png((Path(base.live_grid_folder(tmp_path / "run.safetensors")) / grids[-1]).read_bytes())
    assert grid.shape == (4 * 9, 8 * 9, 1)  # 4 classes a row each, 8 samples of 8 px, each with a 1 px gap


def test_resume_state_of_other_settings_is_ignored(tmp_path, tiny_images):
    images, labels = tiny_images
    path = tmp_path / "state.safetensors"
    torch.manual_seed(0)
    model, settings = build("wgan_gp")
    settings["n_critic"] = 1
    base.ResumeState(path, {"other": "settings"}).save({"step": 3})
    record = train_generator(model, images, labels, iterations=2, batch_size=8, seed=0, resume_path=path, **settings)
    assert [h["step"] for h in record["history"]] == [2]


def test_the_best_scoring_checkpoint_is_kept(tmp_path, tiny_images):
    """Scores 3, 1, 2 at steps 2, 4, 6: the weights kept are step 4's, which a 4-step run reproduces
    (scoring samples from its own seed and never draws from the training RNG)."""
    images, labels = tiny_images
    scores = iter([3.0, 1.0, 2.0])
    seen = []

    def score(sample, num_classes):
        seen.append(sample(np.arange(8) % num_classes, 0).shape)
        return next(scores)

    best, record = fit("wgan_gp", images, labels, tmp_path / "a.safetensors", iterations=6, eval_every=2, score=score)
    assert record["chosen_step"] == 4
    assert record["selection"] == "lowest score"
    assert [s["score"] for s in record["scores"]] == [3.0, 1.0, 2.0]
    assert seen == [(8, 8, 8, 1)] * 3
    four, _ = fit("wgan_gp", images, labels, tmp_path / "b.safetensors", iterations=4)
    for k, v in four.state_dict().items():
        assert torch.equal(v, best.state_dict()[k]), k


def test_ddpm_guidance_and_samplers_change_the_samples(tiny_images):
    torch.manual_seed(0)
    y = np.array([0, 1, 2, 3])
    outputs = {}
    for name, overrides in {
        "guided": {},
        "unguided": {"guidance_scale": 1.0},
        "dpm": {"sampler": "dpm_solver"},
    }.items():
        torch.manual_seed(0)
        model, _ = build("ddpm", **overrides)
        outputs[name] = sample_images(model.eval(), y, seed=3)
    assert not np.array_equal(outputs["guided"], outputs["unguided"])
    assert not np.array_equal(outputs["guided"], outputs["dpm"])
    with pytest.raises(ValueError, match="divisible by 16"):
        build("ddpm", block_channels=[4, 4, 4, 4, 4])


def test_per_class_generator_draws_each_class_from_its_member(tmp_path):
    torch.manual_seed(0)
    members = [build("wgan_gp", num_classes=1)[0].eval() for _ in range(3)]
    model = PerClassGenerator.assemble(members)
    save_generator(tmp_path / "pc.safetensors", model, {})
    loaded = load_generator(tmp_path / "pc.safetensors")
    labels = np.array([2, 0, 0, 1])
    got = sample_images(loaded, labels, seed=5)
    gen = torch.Generator().manual_seed(5)  # members sample in class order from one generator
    expected = {c: sample_with(members[c], np.zeros((labels == c).sum(), np.int64), gen) for c in (0, 1, 2)}
    np.testing.assert_array_equal(got[[1, 2]], expected[0])
    np.testing.assert_array_equal(got[3], expected[1][0])
    np.testing.assert_array_equal(got[0], expected[2][0])
    with pytest.raises(ValueError, match="one-class generators of one family"):
        PerClassGenerator.assemble([members[0], build("sngan", num_classes=1)[0]])


class _FlatImages(Generator):
    """Flat images of uniform random brightness."""

    family = "flat"

    def __init__(self):
        super().__init__(1, 1, 4)
        self.dummy = nn.Parameter(torch.zeros(1))

    def sample_tensor(self, labels, generator):
        return (torch.rand(len(labels), 1, 1, 1, generator=generator) * 2 - 1).expand(-1, 1, 4, 4)


class _BrightnessClassifier(nn.Module):
    """Class = which quarter the brightness u falls in; confidence grows with the position inside the
    quarter, except class 3, which is never confident (softmax 0.35)."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # a module with a device, like every classifier

    def forward(self, x):
        u = x.mean(dim=(1, 2, 3)) * 4
        cls = u.floor().clamp(max=3).long()
        logits = torch.zeros(len(x), 4)
        logits[torch.arange(len(x)), cls] = torch.where(cls == 3, 0.5, 10 * (u - cls))
        return logits


def test_pseudo_labels_keep_only_confident_samples_until_each_quota_is_met():
    model, classifier, threshold = _FlatImages(), _BrightnessClassifier(), 0.8
    quotas = np.array([5, 3, 4, 2])
    images, labels, stats = pseudo_labelled_sample(
        model, classifier, quotas, seed=11, confidence=threshold, batch_size=16, max_draws=400
    )
    # the same draws, labelled independently
    drawn = sample_with(model, np.zeros(stats["drawn"], np.int64), torch.Generator().manual_seed(11), 16)
    u = drawn[:, 0, 0, 0].astype(np.float64) / 255 * 4
    cls = np.minimum(np.floor(u), 3).astype(int)
    top = np.where(cls == 3, 0.5, 10 * (u - cls))
    conf = np.exp(top) / (np.exp(top) + 3)
    assert stats["drawn"] == 400  # class 3 is never confident, so every draw is used
    assert [r["predicted"] for r in stats["per_class"]] == np.bincount(cls, minlength=4).tolist()
    assert [r["confident"] for r in stats["per_class"]] == np.bincount(cls[conf >= threshold], minlength=4).tolist()
    assert np.bincount(labels, minlength=4).tolist() == [5, 3, 4, 0] == [r["used"] for r in stats["per_class"]]
    assert stats["per_class"][3]["kept_fraction"] == 0.0
    assert 0 < stats["per_class"][0]["kept_fraction"] < 1
    # kept images are the first confident draws of their class, in draw order
    first = np.concatenate([np.flatnonzero((cls == c) & (conf >= threshold))[:q] for c, q in enumerate([5, 3, 4, 0])])
    np.testing.assert_array_equal(images, drawn[np.sort(first)])
    merged = merge_stats([stats, stats])
    assert merged["drawn"] == 800
    assert merged["per_class"][0]["used"] == 10
    assert merged["per_class"][0]["kept_fraction"] == stats["per_class"][0]["kept_fraction"]


def test_pseudo_labelling_stops_as_soon_as_quotas_are_met():
    _, labels, stats = pseudo_labelled_sample(
        _FlatImages(), _BrightnessClassifier(), np.array([2, 2, 2, 0]), seed=0, confidence=0.8, batch_size=8
    )
    assert np.bincount(labels, minlength=4).tolist() == [2, 2, 2, 0]
    assert stats["drawn"] < 20 * 6


def test_frechet_distance_matches_scipy_and_its_fixed_points():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 6)), rng.normal(loc=0.5, scale=1.3, size=(300, 6)) @ rng.normal(size=(6, 6))
    (m1, c1), (m2, c2) = gaussian_stats(a), gaussian_stats(b)
    root = scipy.linalg.sqrtm(c1 @ c2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * root)
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(*gaussian_stats(a[::-1]), m1, c1) == pytest.approx(0.0, abs=1e-8)  # order-free
    # 1-D Gaussians: (mu1 - mu2)^2 + (s1 - s2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[9.0]])) == pytest.approx(
        4 + 1
    )


def test_image_size_must_suit_the_generator():
    with pytest.raises(ValueError, match="divisible by 4"):
        create_generator("wgan_gp", 10, 1, 10)
    with pytest.raises(ValueError, match="unknown generator family"):
        create_generator("stylegan9", 10, 1, 8)
