"""Copy detection (Yuan et al. 2024 App. G): is a synthetic image a copy of a training image? For every
synthetic image, the cosine similarity to its nearest training image in a feature space (the quality
metrics' extractor), beside the same statistic for held-out real images (the test split, which the
generators never saw): a generator that memorises puts synthetic images closer to the training set
than unseen real images of the same distribution come. Nothing here chooses anything; the test split
only serves as the unseen reference.
"""

from __future__ import annotations

import numpy as np
import polars as pl

SYNTHETIC, HELD_OUT = "synthetic", "held-out real"
#: A synthetic image counts as a near-copy when it is more similar to its nearest training image than
#: this quantile of the held-out real images are to theirs.
NEAR_COPY_QUANTILE = 0.99


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(queries: np.ndarray, reference: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of each query to its most similar reference vector, and that vector's index
    (ties: the lowest index), in chunks of ``chunk`` queries (memory: chunk x len(reference))."""
    q, r = _unit(queries), _unit(reference)
    best = np.empty(len(q))
    index = np.empty(len(q), np.int64)
    for start in range(0, len(q), chunk):
        sims = q[start : start + chunk] @ r.T
        index[start : start + chunk] = sims.argmax(axis=1)
        best[start : start + chunk] = sims[np.arange(len(sims)), index[start : start + chunk]]
    return best, index


def copy_table(
    train: np.ndarray,
    train_keys: list[str],
    sets: dict[str, tuple[np.ndarray, list[str]]],
) -> pl.DataFrame:
    """One row per image of each of ``sets`` ({name: (features, keys)}: the synthetic set and the
    held-out real images): its key, its nearest training image's key and their cosine similarity."""
    frames = []
    for name, (features, keys) in sets.items():
        similarity, index = nearest(features, train)
        frames.append(
            pl.DataFrame(
                {
                    "set": [name] * len(keys),
                    "key": [str(k) for k in keys],
                    "nearest_train": [train_keys[i] for i in index],
                    "similarity": similarity,
                }
            )
        )
    return pl.concat(frames)


def copy_summary(table: pl.DataFrame, quantile: float = NEAR_COPY_QUANTILE) -> dict[str, float]:
    """Median similarity of the synthetic and the held-out images, the held-out ``quantile`` (the
    near-copy threshold) and the share of synthetic images above it (about 1 - quantile when the
    synthetic images are no closer to the training set than unseen real ones)."""
    synthetic = table.filter(pl.col("set") == SYNTHETIC)["similarity"]
    held_out = table.filter(pl.col("set") == HELD_OUT)["similarity"]
    ours, theirs = synthetic.to_numpy(), held_out.to_numpy()
    threshold = float(np.quantile(theirs, quantile, method="higher"))
    return {
        "synthetic images": len(ours),
        "held-out images": len(theirs),
        "median similarity, synthetic": float(np.median(ours)),
        "median similarity, held-out": float(np.median(theirs)),
        "threshold": threshold,
        "near copies": float((ours > threshold).mean()),
        "max similarity": float(ours.max()),
    }
