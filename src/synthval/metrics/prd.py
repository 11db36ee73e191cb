"""Precision and recall for distributions (PRD; Sajjadi et al. 2018) and the total variation that seed
000 reads off it to check Corollary 3.3 (§3, §4.1: TV of 3.5%/8.7% for StyleGAN2, 43%/34% for WGAN-GP).

Both sets are quantised by k-means on their union into ``clusters`` bins (Sajjadi et al. §4), giving
histograms P (real) and Q (synthetic). For a slope lambda = tan(angle), the PRD curve is
``alpha(lambda) = sum_w min(lambda P(w), Q(w))``, ``beta(lambda) = alpha(lambda) / lambda`` (their
Theorem 2; alpha is precision, beta recall), averaged over ``runs`` clusterings. Where the curve meets
alpha = beta (lambda = 1), ``alpha = sum_w min(P(w), Q(w)) = 1 - TV(P, Q)`` (their §3, eq. 2), so the
estimate is ``TV = 1 - sum_w min(P(w), Q(w))`` on the same histograms. F_8 and F_1/8 (their §4) are
the maxima over the curve of F_beta = (1 + beta^2) alpha beta / (beta^2 alpha + beta) for beta = 8 and
1/8: recall-like and precision-like summaries.

Cost: k-means on N + M points, O(runs x (N + M) x clusters x d) per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PRD:
    precision: np.ndarray  # alpha over the angles
    recall: np.ndarray  # beta over the angles
    f_8: float  # max F_8: recall-like
    f_1_8: float  # max F_1/8: precision-like
    tv: float  # 1 - sum min(P, Q), mean over runs
    tv_std: float


def histograms(real: np.ndarray, fake: np.ndarray, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the union into ``clusters`` bins (mini-batch k-means, 10 restarts as in the authors'
    code) and return the normalised histograms of ``real`` and ``fake``."""
    from sklearn.cluster import MiniBatchKMeans

    data = np.concatenate([real, fake]).astype(np.float64)
    labels = MiniBatchKMeans(n_clusters=clusters, n_init=10, random_state=seed).fit(data).labels_
    p = np.bincount(labels[: len(real)], minlength=clusters) / len(real)
    q = np.bincount(labels[len(real) :], minlength=clusters) / len(fake)
    return p, q


def prd_curve(
    p: np.ndarray, q: np.ndarray, angles: int = 1001, epsilon: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """alpha (precision) and beta (recall) of histogram ``q`` (synthetic) against ``p`` (real) at
    ``angles`` slopes from near 0 to near pi/2 (Sajjadi et al. Theorem 2)."""
    slopes = np.tan(np.linspace(epsilon, np.pi / 2 - epsilon, angles))[:, None]
    precision = np.minimum(p[None] * slopes, q[None]).sum(axis=1)
    recall = precision / slopes[:, 0]
    return precision.clip(0, 1), recall.clip(0, 1)


def f_beta(precision: np.ndarray, recall: np.ndarray, beta: float, epsilon: float = 1e-10) -> np.ndarray:
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall + epsilon)


def prd(
    real: np.ndarray,
    fake: np.ndarray,
    clusters: int = 20,
    runs: int = 10,
    angles: int = 1001,
    seed: int = 0,
    balance: bool = True,
) -> PRD:
    """The PRD curve, F_8 / F_1/8 and TV of ``fake`` against ``real`` (features, one row per image).
    With ``balance`` both sets are subsampled to the smaller size first, as Sajjadi et al. require."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    rng = np.random.default_rng(seed)
    if balance and len(real) != len(fake):
        n = min(len(real), len(fake))
        real = real[np.sort(rng.choice(len(real), n, replace=False))] if len(real) > n else real
        fake = fake[np.sort(rng.choice(len(fake), n, replace=False))] if len(fake) > n else fake
    clusters = min(clusters, len(real) + len(fake))
    curves, tvs = [], []
    for run in range(runs):
        p, q = histograms(real, fake, clusters, seed + run)
        curves.append(prd_curve(p, q, angles))
        tvs.append(1 - np.minimum(p, q).sum())
    precision = np.mean([c[0] for c in curves], axis=0)
    recall = np.mean([c[1] for c in curves], axis=0)
    return PRD(
        precision,
        recall,
        float(f_beta(precision, recall, 8).max()),
        float(f_beta(precision, recall, 1 / 8).max()),
        float(np.mean(tvs)),
        float(np.std(tvs)),
    )
