"""The Fréchet distance between Gaussian fits of two feature sets: FID (Heusel et al. 2017), which seed
000 (§4.3, App. G) uses to keep the best generator checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from synthval.metrics.features import extract_features

if TYPE_CHECKING:
    from synthval.classifiers import Classifier
    from synthval.data.stream import ShardStream


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of the rows of ``features``."""
    features = np.asarray(features, np.float64)
    if len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(features)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(values.clip(min=0))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """``|mu1 - mu2|^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2))``.

    The trace of the matrix square root is computed as the sum of square roots of the eigenvalues of
    the symmetric ``cov1^(1/2) cov2 cov1^(1/2)`` (which has the same spectrum as ``cov1 cov2``), so
    there is no complex round-off to discard and no need for the ``eps`` offset some implementations add.
    """
    root1 = _psd_sqrt(np.asarray(cov1, np.float64))
    middle = root1 @ np.asarray(cov2, np.float64) @ root1
    trace_sqrt = np.sqrt(np.linalg.eigvalsh((middle + middle.T) / 2).clip(min=0)).sum()
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt, 0.0))


class FIDScore:
    """FID of generated images against real ones in a classifier's features; lower is better.

    Used to pick a generator's checkpoint: the real statistics are computed once, and each call samples
    ``samples`` images, class-balanced over the generator's classes, from a fixed seed, so scores of
    successive checkpoints are comparable and scoring never draws from the training RNG.
    """

    def __init__(
        self,
        classifier: Classifier,
        real_images: np.ndarray | ShardStream,
        samples: int,
        seed: int,
        batch_size: int = 256,
    ):
        from synthval.data.stream import ShardStream, stream_batches

        self.classifier, self.samples, self.seed, self.batch_size = classifier, samples, seed, batch_size
        if isinstance(real_images, ShardStream):  # a set too large to hold: its features, batch by batch
            batches = stream_batches(real_images, batch_size)
            real = np.concatenate([extract_features(classifier, b.images, batch_size) for b in batches])
        else:
            real = extract_features(classifier, real_images, batch_size)
        self.real = gaussian_stats(real)

    def __call__(self, sample: Callable[[np.ndarray, int], np.ndarray], num_classes: int) -> float:
        """``sample(labels, seed)`` returns uint8 NHWC images for ``labels``."""
        labels = np.arange(self.samples, dtype=np.int64) % num_classes
        fake = extract_features(self.classifier, sample(labels, self.seed), self.batch_size)
        return frechet_distance(*self.real, *gaussian_stats(fake))
