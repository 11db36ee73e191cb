"""Quality metrics against independent numpy/scipy computations on fixed features."""

import numpy as np
import pytest
import scipy.linalg
import torch
from safetensors.torch import save_file
from scipy.spatial.distance import cdist

from synthval.metrics import METRICS
from synthval.metrics.arc import arc
from synthval.metrics.extractors import build_extractor, random_tf_inception_weights
from synthval.metrics.frechet import frechet_distance, gaussian_stats
from synthval.metrics.kernel import kid, mmd_rbf
from synthval.metrics.neighbours import manifold_metrics
from synthval.metrics.prd import prd, prd_curve
from synthval.metrics.quality import QualitySettings, compare, quality_tables
from synthval.report.glossary import TERMS


@pytest.fixture
def sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(120, 6))
    fake = rng.normal(size=(100, 6)) * 1.3 + 0.4
    return real, fake


def test_fid_matches_the_scipy_formula(sets):
    real, fake = sets
    mu1, s1, mu2, s2 = real.mean(0), np.cov(real.T), fake.mean(0), np.cov(fake.T)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(*gaussian_stats(real), *gaussian_stats(fake)) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(*gaussian_stats(real), *gaussian_stats(real.copy())) == pytest.approx(0, abs=1e-9)


def test_kid_is_the_unbiased_polynomial_mmd(sets):
    real, fake = sets
    n = 100
    x, y = real[:n], fake

    def k(a, b):
        return (a @ b.T / a.shape[1] + 1) ** 3

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )
    mean, std = kid(x, y, subsets=3, subset_size=n)  # a subset of all n points is the whole set, reordered
    assert mean == pytest.approx(expected, rel=1e-9)
    assert std == pytest.approx(0, abs=1e-12)


def _reference_manifold(real, fake, k_pr, k_dc):
    """Kynkäänniemi et al. and Naeem et al. written out with full distance matrices."""
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    real_radius = np.sort(rr, axis=1)[:, k_pr]  # column 0 is the point itself
    fake_radius = np.sort(ff, axis=1)[:, k_pr]
    precision = np.mean((rf <= real_radius[:, None]).any(axis=0))
    recall = np.mean((rf <= fake_radius[None, :]).any(axis=1))
    real_radius_dc = np.sort(rr, axis=1)[:, k_dc]
    density = (rf < real_radius_dc[:, None]).sum() / (k_dc * len(fake))
    coverage = np.mean(rf.min(axis=1) < real_radius_dc)
    return precision, recall, density, coverage


@pytest.mark.parametrize("chunk", [7, 4096])  # blocks smaller than the sets must give the same answer
def test_precision_recall_density_coverage_match_full_matrices(sets, chunk):
    real, fake = sets
    m = manifold_metrics(real, fake, k_pr=3, k_dc=5, chunk=chunk)
    expected = _reference_manifold(real, fake, 3, 5)
    assert (m.precision, m.recall, m.density, m.coverage) == pytest.approx(expected, abs=1e-12)
    same = manifold_metrics(real, real.copy(), chunk=chunk)
    assert same.precision == same.recall == same.coverage == 1.0
    perm = np.random.default_rng(1).permutation(len(fake))
    assert manifold_metrics(real[::-1], fake[perm], chunk=chunk) == m  # no dependence on sample order


@pytest.mark.parametrize("chunk", [9, 4096])
def test_mmd_matches_the_full_kernel_matrices(sets, chunk):
    real, fake = sets
    bandwidths = [0.5, 2.0]

    def k(a, b):
        d = cdist(a, b, "sqeuclidean")
        return sum(np.exp(-d / (2 * s * s)) for s in bandwidths)

    n, m = len(real), len(fake)
    kxx, kyy, kxy = k(real, real), k(fake, fake), k(real, fake)
    expected = (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )
    assert mmd_rbf(real, fake, bandwidths, chunk=chunk) == pytest.approx(expected, rel=1e-9)


def test_prd_curve_and_total_variation_on_histograms():
    p, q = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.1, 0.3, 0.3, 0.3])
    precision, recall = prd_curve(p, q, angles=1001)
    tv = 0.5 * np.abs(p - q).sum()  # the textbook definition
    assert precision[500] == pytest.approx(1 - tv, abs=1e-9)
    assert recall[500] == pytest.approx(1 - tv, abs=1e-9)
    assert precision[-1] == pytest.approx(
        np.minimum(p > 0, 1) @ q, abs=1e-6
    )  # lambda -> inf: Q's mass where P has support
    assert recall[0] == pytest.approx((q > 0) @ p, abs=1e-6)  # lambda -> 0: P's mass where Q has support


def test_prd_total_variation_for_identical_and_separated_sets(sets):
    real, _ = sets
    same = prd(real, real.copy(), clusters=10, runs=3)
    assert same.tv == pytest.approx(0, abs=1e-12)
    assert same.f_8 == pytest.approx(1, abs=1e-6)
    assert same.f_1_8 == pytest.approx(1, abs=1e-6)
    far = prd(real, real + 100, clusters=10, runs=3)
    assert far.tv == pytest.approx(1, abs=1e-12)
    assert far.f_8 < 1e-6


def test_arc_is_near_zero_for_one_distribution_and_one_for_separated_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    twin = rng.normal(size=(300, 8))
    far = rng.normal(size=(300, 8)) + 6
    near = arc(real, twin, steps=60, num_eps=4)
    apart = arc(real, far, steps=60, num_eps=4)
    assert near.area < 0.15
    assert apart.area > 0.9
    assert apart.accuracy[0] == 1.0
    assert len(near.epsilons) == 4
    assert near.epsilons[-1] == 0.5


def test_quality_tables_cover_every_metric_overall_and_per_class(sets):
    real, fake = sets
    real_labels, fake_labels = np.arange(len(real)) % 2, np.arange(len(fake)) % 2
    settings = QualitySettings(prd_runs=2, arc_steps=20, arc_epsilons=3, kid_subsets=5)
    rows, curves = quality_tables(real, real_labels, fake, fake_labels, settings, seed=0)
    # one list of metrics: the table holds exactly what synthval.metrics.METRICS names, in its order, and
    # every one is defined in the report's glossary
    overall = [r["metric"] for r in rows if r["class"] == "all"]
    assert overall == [m.name for m in METRICS]
    terms = {term for term, _ in TERMS}
    assert all(m.term in terms for m in METRICS if m.term), [m.term for m in METRICS if m.term not in terms]
    assert all(m.term for m in METRICS if m.headline)
    assert {r["class"] for r in rows} == {"all", "0", "1"}
    assert {c["curve"] for c in curves} == {"prd", "arc"}
    # the same sets in another order give the same numbers
    perm_r, perm_f = np.random.default_rng(2).permutation(len(real)), np.random.default_rng(3).permutation(len(fake))
    again, _ = compare(real[perm_r], fake[perm_f], settings, seed=0)
    first, _ = compare(real, fake, settings, seed=0)
    assert again == first


def test_tv_floor_is_the_estimator_between_two_real_halves_at_the_synthetic_size():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(400, 4))
    settings = QualitySettings(
        prd_runs=2, prd_clusters=10, arc_steps=10, arc_epsilons=2, kid_subsets=2, kid_subset_size=50
    )
    close, _ = compare(real, rng.normal(size=(150, 4)), settings, seed=0)
    apart, _ = compare(real, rng.normal(size=(150, 4)) + 3, settings, seed=0)
    assert (
        close["tv_floor_n"] == apart["tv_floor_n"] == 150
    )  # the synthetic set's size (the real set has 2 x 200 to split)
    assert (
        0 < close["tv_floor"] < 0.5 < apart["tv"]
    )  # finite samples put the floor above 0; a shifted set is far above it
    small, _ = compare(real[:100], rng.normal(size=(150, 4)), settings, seed=0)
    assert small["tv_floor_n"] == 50  # capped by the halves of the real set


@pytest.mark.long
def test_inception_extractor_gives_torch_fidelitys_fid_on_the_same_weights(tmp_path):
    from torch_fidelity import calculate_metrics

    state = random_tf_inception_weights()
    torch.save(state, tmp_path / "inception.pth")  # torch-fidelity's own format, for its own computation
    save_file(state, str(tmp_path / "inception.safetensors"))
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-60, 61, real.shape), 0, 255).astype(np.uint8)[::-1].copy()

    class Images(torch.utils.data.Dataset):
        def __init__(self, images):
            self.images = images

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            return torch.from_numpy(self.images[i]).permute(2, 0, 1).contiguous()

    theirs = calculate_metrics(
        input1=Images(real),
        input2=Images(fake),
        fid=True,
        cuda=False,
        cache=False,
        verbose=False,
        batch_size=8,
        save_cpu_ram=True,  # no data-loader workers
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(tmp_path / "inception.pth"),
    )["frechet_inception_distance"]
    extractor = build_extractor({"extractor": "inception", "weights": str(tmp_path / "inception.safetensors")}, None)
    ours = frechet_distance(*gaussian_stats(extractor(real, batch_size=3)), *gaussian_stats(extractor(fake)))
    print(f"FID: torch-fidelity {theirs!r}, synthval {ours!r}")
    assert extractor.info["dim"] == 2048
    assert theirs > 1
    assert ours == pytest.approx(theirs, rel=1e-5, abs=0)
    # one grey channel is repeated to RGB, as torch-fidelity's users do
    assert extractor(real[:2, :, :, :1]).shape == (2, 2048)
    np.testing.assert_allclose(extractor(real[:2, :, :, :1]), extractor(np.repeat(real[:2, :, :, :1], 3, -1)))


def test_dinov2_extractor_takes_the_official_checkpoint(tmp_path):
    import timm

    torch.manual_seed(0)
    # the official release's naming: timm's at 518 px, with DINOv2's mask token
    official = timm.create_model("vit_small_patch14_dinov2", pretrained=False, num_classes=0)
    state = {k: v.contiguous() for k, v in official.state_dict().items()}
    state["mask_token"] = torch.zeros(1, official.embed_dim)
    save_file(state, str(tmp_path / "dinov2_vits14.safetensors"))
    extractor = build_extractor(
        {
            "extractor": "dinov2",
            "timm_model": "vit_small_patch14_dinov2",
            "weights": str(tmp_path / "dinov2_vits14.safetensors"),
        },
        None,
    )
    images = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8)
    features = extractor(images)
    assert features.shape == (2, 384)
    assert extractor.input_size == 224
    # the CLS token after the final norm of the same network at 224 px
    x = torch.nn.functional.interpolate(
        torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255, size=224, mode="bicubic", antialias=True
    )
    mean, std = torch.tensor(extractor.mean).view(1, 3, 1, 1), torch.tensor(extractor.std).view(1, 3, 1, 1)
    with torch.no_grad():
        tokens = extractor.network.forward_features((x - mean) / std)
    np.testing.assert_allclose(features, tokens[:, 0].numpy(), rtol=1e-4, atol=1e-5)


def test_extractors_load_local_weights_and_refuse_missing_ones(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 1), dtype=np.uint8)
    import timm

    small = timm.create_model("resnet10t", pretrained=False, num_classes=0)
    save_file(small.state_dict(), str(tmp_path / "timm.safetensors"))
    extractor = build_extractor(
        {
            "extractor": "timm",
            "timm_model": "resnet10t",
            "weights": str(tmp_path / "timm.safetensors"),
            "input_size": 32,
        },
        None,
    )
    assert extractor(images).shape == (2, small.num_features)
    assert extractor.info["model"] == "resnet10t"
    with pytest.raises(FileNotFoundError, match=r"synthval weights fetch inception --out .*missing\.safetensors"):
        build_extractor({"extractor": "inception", "weights": str(tmp_path / "missing.safetensors")}, None)
    with pytest.raises(ValueError, match="does not hold the TF-compatible Inception-v3 weights"):
        build_extractor({"extractor": "inception", "weights": str(tmp_path / "timm.safetensors")}, None)
    # a classifier's weights, head included, are a feature extractor's: the head is left out
    small.reset_classifier(10)
    save_file(small.state_dict(), str(tmp_path / "classifier.safetensors"))
    settings = {"extractor": "timm", "timm_model": "resnet10t", "input_size": 32}
    with_head = build_extractor({**settings, "weights": str(tmp_path / "classifier.safetensors")}, None)
    np.testing.assert_array_equal(with_head(images), extractor(images))
    other = timm.create_model("resnet18", pretrained=False, num_classes=0)  # another network's weights
    save_file(other.state_dict(), str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="does not hold timm resnet10t weights"):
        build_extractor({**settings, "weights": str(tmp_path / "other.safetensors")}, None)
