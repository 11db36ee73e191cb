"""k-nearest-neighbour metrics of a synthetic set against the real one: improved precision and recall
(Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Each set's manifold is the union of balls around its points, each ball reaching the point's k-th
nearest neighbour in its own set. Every distance is computed in blocks of ``chunk`` x ``chunk`` on
the fly, so memory is O(chunk^2 + N + M) whatever the set sizes; time is O((N + M)^2 d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

#: Rows per distance block: a block is ``CHUNK**2`` float32 distances (64 MiB at 4096).
CHUNK = 4096


def _blocks(n: int, chunk: int) -> range:
    return range(0, n, chunk)


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between the rows of ``a`` and ``b`` (clamped at 0)."""
    return (a.pow(2).sum(1, keepdim=True) - 2 * a @ b.T + b.pow(2).sum(1)).clamp_min_(0)


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float64)


def knn_radii(points: np.ndarray, k: int, chunk: int = CHUNK) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set, the point itself
    excluded (as the reference implementations do: the (k+1)-th smallest distance, self included)."""
    x = _tensor(points)
    if len(x) <= k:
        raise ValueError(f"k={k} nearest neighbours need more than {k} points, got {len(x)}")
    radii = torch.empty(len(x), dtype=torch.float64)
    for i in _blocks(len(x), chunk):
        best = torch.full((min(chunk, len(x) - i), k + 1), float("inf"), dtype=torch.float64)
        for j in _blocks(len(x), chunk):
            d = _sqdist(x[i : i + chunk], x[j : j + chunk])
            best = torch.cat([best, d], 1).topk(k + 1, dim=1, largest=False).values
        radii[i : i + chunk] = best[:, k].sqrt()
    return radii.numpy()


def ball_counts(
    queries: np.ndarray, centres: np.ndarray, radii: np.ndarray, strict: bool = False, chunk: int = CHUNK
) -> np.ndarray:
    """For each query, how many balls ``(centres[i], radii[i])`` contain it (``<=`` the radius, or
    ``<`` when ``strict``)."""
    q, c, r = _tensor(queries), _tensor(centres), torch.as_tensor(np.asarray(radii, np.float64)).pow(2)
    counts = torch.zeros(len(q), dtype=torch.long)
    for i in _blocks(len(q), chunk):
        for j in _blocks(len(c), chunk):
            d = _sqdist(q[i : i + chunk], c[j : j + chunk])
            inside = d < r[j : j + chunk] if strict else d <= r[j : j + chunk]
            counts[i : i + chunk] += inside.sum(1)
    return counts.numpy()


def nearest_distance(queries: np.ndarray, points: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Distance from each query to its nearest point."""
    q, p = _tensor(queries), _tensor(points)
    best = torch.full((len(q),), float("inf"), dtype=torch.float64)
    for i in _blocks(len(q), chunk):
        for j in _blocks(len(p), chunk):
            best[i : i + chunk] = torch.minimum(
                best[i : i + chunk], _sqdist(q[i : i + chunk], p[j : j + chunk]).min(1).values
            )
    return best.sqrt().numpy()


@dataclass(frozen=True)
class Manifold:
    """Precision, recall, density and coverage of ``fake`` against ``real``."""

    precision: float
    recall: float
    density: float
    coverage: float


def manifold_metrics(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5, chunk: int = CHUNK) -> Manifold:
    """Improved precision/recall (Kynkäänniemi et al. 2019, §3, k = 3) and density/coverage (Naeem et
    al. 2020, §3, k = 5).

    - precision: share of fake points inside the real manifold; recall: share of real points inside
      the fake manifold (a ball reaches its k-th neighbour, ``<=``);
    - density: mean number of real balls (k = 5) containing a fake point, divided by k (about 1 when
      the sets match; it is not capped); coverage: share of real points whose ball (strict ``<``, as
      in the authors' code) contains at least one fake point.
    """
    real_r_pr, fake_r_pr = knn_radii(real, k_pr, chunk), knn_radii(fake, k_pr, chunk)
    precision = float((ball_counts(fake, real, real_r_pr, chunk=chunk) > 0).mean())
    recall = float((ball_counts(real, fake, fake_r_pr, chunk=chunk) > 0).mean())
    real_r_dc = real_r_pr if k_dc == k_pr else knn_radii(real, k_dc, chunk)
    density = float(ball_counts(fake, real, real_r_dc, strict=True, chunk=chunk).sum() / (k_dc * len(fake)))
    coverage = float((nearest_distance(real, fake, chunk) < real_r_dc).mean())
    return Manifold(precision, recall, density, coverage)
