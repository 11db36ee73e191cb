"""Copy detection (Yuan et al. 2024 App. G): nearest training images by cosine similarity, against a direct
computation, and the near-copy share against a set that copies and one that does not."""

import numpy as np
import polars as pl
import pytest

from synthval.metrics.copies import HELD_OUT, NEAR_COPY_QUANTILE, SYNTHETIC, copy_summary, copy_table, nearest
from synthval.report.figures import closest_pairs, copy_histograms


def test_nearest_matches_the_full_similarity_matrix_in_any_chunking():
    rng = np.random.default_rng(0)
    queries, reference = rng.normal(size=(37, 6)), rng.normal(size=(50, 6))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    full = unit(queries) @ unit(reference).T
    for chunk in (1, 8, 1000):
        similarity, index = nearest(queries, reference, chunk=chunk)
        np.testing.assert_array_equal(index, full.argmax(axis=1))
        np.testing.assert_allclose(similarity, full.max(axis=1), rtol=1e-12)


def test_a_set_of_copies_is_all_near_copies_and_a_fresh_draw_about_one_percent():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 16))
    keys = [f"t{i}" for i in range(300)]
    held_out = rng.normal(size=(400, 16))
    copies = train[:50] + 1e-6 * rng.normal(size=(50, 16))
    table = copy_table(
        train, keys, {SYNTHETIC: (copies, [f"s{i}" for i in range(50)]), HELD_OUT: (held_out, list(range(400)))}
    )
    assert table.filter(pl.col("set") == SYNTHETIC)["nearest_train"].to_list() == keys[:50]
    summary = copy_summary(table)
    assert summary["near copies"] == 1.0
    assert summary["max similarity"] == pytest.approx(1.0)
    assert summary["threshold"] == pytest.approx(
        np.quantile(table.filter(pl.col("set") == HELD_OUT)["similarity"], 0.99, method="higher"), abs=1e-3
    )
    fresh = rng.normal(size=(2000, 16))  # the same distribution as held_out: about 1% above its 99th percentile
    table = copy_table(train, keys, {SYNTHETIC: (fresh, list(range(2000))), HELD_OUT: (held_out, list(range(400)))})
    assert copy_summary(table)["near copies"] == pytest.approx(1 - NEAR_COPY_QUANTILE, abs=0.015)


def test_the_copy_figures_are_drawn(tmp_path):
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, (20, 8, 8, 1), np.uint8)
    feats = rng.normal(size=(20, 4))
    table = copy_table(
        feats,
        [f"t{i}" for i in range(20)],
        {SYNTHETIC: (feats[:5], [f"s{i}" for i in range(5)]), HELD_OUT: (rng.normal(size=(10, 4)), list(range(10)))},
    )
    copy_histograms({"g": table}, tmp_path / "h.png")
    closest_pairs(
        {"g": table},
        {"train": ([f"t{i}" for i in range(20)], train), "g": ([f"s{i}" for i in range(5)], train[:5])},
        tmp_path / "p.png",
        k=3,
    )
    assert all((tmp_path / n).read_bytes()[:4] == b"\x89PNG" for n in ("h.png", "p.png"))


def test_keys_are_read_without_decoding_in_the_image_set_order(tmp_path):
    from synthval.data import read_image_set, write_sharded
    from synthval.data.shards import read_keys

    rng = np.random.default_rng(3)
    keys = [f"k{i:03d}" for i in range(25)]
    write_sharded(tmp_path, keys, rng.integers(0, 256, (25, 4, 4, 1), np.uint8), np.arange(25) % 3, 10, "t")
    assert read_keys(tmp_path / "manifest.json") == read_image_set(tmp_path / "manifest.json").keys == keys


def test_sscd_descriptors_are_unit_512d_and_see_through_a_resize(tmp_path):
    """SSCD (privacy.copy_detection.weights): the torchvision release's layout (ResNet-50, fc the
    512-d projection), GeM pooling, L2-normalised; an image and its 2-pixel-blurred copy are nearer
    than two different images, even with random weights; a file of other weights is refused."""
    import torch
    from safetensors.torch import save_file
    from torchvision.models import resnet50

    from synthval.metrics.extractors import build_extractor

    torch.manual_seed(0)
    weights = tmp_path / "sscd.safetensors"
    save_file(resnet50(weights=None, num_classes=512).state_dict(), weights)
    extractor = build_extractor({"extractor": "sscd", "weights": str(weights)}, None)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    near = np.clip(a.astype(int) + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8)
    features = extractor(np.stack([a, near, b]))
    assert features.shape == (3, 512)
    assert np.allclose(np.linalg.norm(features, axis=1), 1, atol=1e-5)
    assert features[0] @ features[1] > features[0] @ features[2]
    save_file(resnet50(weights=None).state_dict(), tmp_path / "imagenet.safetensors")  # a 1000-class head
    with pytest.raises(ValueError, match=r"does not hold SSCD weights: size mismatch for fc\.weight"):
        build_extractor({"extractor": "sscd", "weights": str(tmp_path / "imagenet.safetensors")}, None)


def test_copy_detection_reads_sscd_features_when_its_weights_are_given():
    from pathlib import Path
    from types import SimpleNamespace

    from synthval.config import load_config
    from synthval.plan.workflow import Plan

    config = load_config(Path(__file__).resolve().parents[1] / "tests" / "configs" / "tiny.yaml")
    job = SimpleNamespace(trainset="train300", generator="wgan")
    plain = Plan.from_config(config, scripts=".").metrics.copy_detection_inputs(job)
    assert plain["held_out"] == "results/features/train300/test.safetensors"
    config["privacy"]["copy_detection"]["weights"] = "weights/sscd.safetensors"
    plan = Plan.from_config(config, scripts=".")
    inputs = plan.metrics.copy_detection_inputs(job)
    assert inputs["synthetic"] == "results/features/train300/sscd/wgan.safetensors"
    outputs = plan.all_outputs()
    assert "results/features/train300/sscd/test.safetensors" in outputs
    assert "results/features/train300/test.safetensors" not in outputs  # no quality features of the test split
