"""Kernel two-sample distances: KID (Bińkowski et al. 2018) and a multi-bandwidth RBF MMD (Gretton et
al. 2012), the discrepancy Yuan et al. 2024 (§3.1, eq. 5-6, App. C) minimises between real and synthetic
features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from synthval.metrics.neighbours import CHUNK, _blocks, _sqdist, _tensor


def kid(
    real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance: the unbiased MMD^2 under the cubic polynomial kernel
    ``(x.y / d + 1)^3``, averaged over ``subsets`` random subsets of ``subset_size`` points of each set
    (shrunk to the smaller set when it has fewer points). Returns (mean, std). Computed by
    torch-fidelity's ``kid_features_to_metric``; O(subsets x subset_size^2 x d)."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(f"KID needs at least 2 points per set, got {len(real)} and {len(fake)}")
    out = kid_features_to_metric(
        torch.as_tensor(np.asarray(real, np.float64)),
        torch.as_tensor(np.asarray(fake, np.float64)),
        kid_subsets=subsets,
        kid_subset_size=size,
        kid_kernel="poly",
        kid_kernel_poly_degree=3,
        kid_kernel_poly_gamma=None,
        kid_kernel_poly_coef0=1,
        rng_seed=seed,
        verbose=False,
    )
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD]


def median_distance(x: np.ndarray, max_points: int = 2000, seed: int = 0) -> float:
    """The median pairwise distance of (at most ``max_points`` of) ``x``: the usual RBF bandwidth scale."""
    x = np.asarray(x, np.float64)
    if len(x) > max_points:
        x = x[np.random.default_rng(seed).choice(len(x), max_points, replace=False)]
    t = _tensor(x)
    d = _sqdist(t, t).sqrt()
    upper = d[torch.triu_indices(len(x), len(x), 1).unbind()]
    return float(upper.median()) if len(upper) else 1.0


def mmd_rbf(real: np.ndarray, fake: np.ndarray, bandwidths: Sequence[float], chunk: int = CHUNK) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3) under the sum of RBF kernels
    ``exp(-|x - y|^2 / (2 s^2))`` over ``bandwidths`` (Yuan et al. 2024 §3.1, eq. 6). The kernel sums are
    accumulated block by block: memory O(chunk^2), time O((N + M)^2 d)."""
    x, y = _tensor(real), _tensor(fake)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"MMD needs at least 2 points per set, got {len(x)} and {len(y)}")
    scales = [1 / (2 * s * s) for s in bandwidths]

    def kernel_sum(a: torch.Tensor, b: torch.Tensor, same: bool) -> float:
        total = 0.0
        for i in _blocks(len(a), chunk):
            for j in _blocks(len(b), chunk):
                d = _sqdist(a[i : i + chunk], b[j : j + chunk])
                total += sum(float(torch.exp(-d * scale).sum()) for scale in scales)
        if same:  # drop the diagonal: k(x, x) = 1 per kernel
            total -= len(a) * len(bandwidths)
        return total

    n, m = len(x), len(y)
    return (
        kernel_sum(x, x, True) / (n * (n - 1))
        + kernel_sum(y, y, True) / (m * (m - 1))
        - 2 * kernel_sum(x, y, False) / (n * m)
    )
