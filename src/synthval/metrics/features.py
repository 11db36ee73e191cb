"""Feature extraction: the penultimate layer of a classifier trained on the real training split (the
offline extractor; the FID convention of Heusel et al. 2017 uses Inception-v3 the same way)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from synthval.classifiers import Classifier


@torch.no_grad()
def extract_features(classifier: Classifier, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Penultimate-layer features (float64, one row per image) of uint8 NHWC ``images``."""
    device = classifier.mean.device
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.as_tensor(images[start : start + batch_size], device=device).permute(0, 3, 1, 2).float().div(255)
        out.append(classifier.features(batch).double().cpu().numpy())
    if not out:
        return np.zeros((0, classifier.feature_dim), np.float64)
    return np.concatenate(out)
