"""Deterministic splits of a pool into named training sets, their test splits, and the standard
protocol's fit/validation sub-split (Shoshan et al. 2023 §4 and App. C: Train10K/30K/50K, 75/25 train/val)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import polars as pl


def make_splits(
    n: int, train_sizes: Mapping[str, int], val_fraction: float, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Indices of every split, for every named training-set size.

    One seeded permutation of the pool serves all sizes: ``train = perm[:size]`` and
    ``test = perm[size:]``, so training sets are nested and each test split is exactly the images
    its training set never saw. ``fit``/``val`` is a second seeded permutation of ``train`` cut at
    ``1 - val_fraction``; it exists only for the standard hold-out protocol. Returned indices are
    sorted so shards list images in pool order.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, size in train_sizes.items():
        if not 0 < size < n:
            raise ValueError(f"training set {name!r}: size {size} must lie between 1 and {n - 1} (pool has {n} images)")
        train = perm[:size]
        sub = np.random.default_rng([seed, size]).permutation(train)
        n_val = max(1, round(size * val_fraction))
        out[name] = {
            "train": np.sort(train),
            "test": np.sort(perm[size:]),
            "fit": np.sort(sub[n_val:]),
            "val": np.sort(sub[:n_val]),
        }
    return out


def split_tables(summaries: Mapping[str, dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From the data summaries of training sets (prepare_data's summary.json): images per split with
    the smallest and largest class and their ratio, and the images per class of every split."""
    import polars as pl  # the report's only

    rows, balance = [], []
    for trainset, summary in summaries.items():
        for split, info in summary["splits"].items():
            counts = info["per_class"]
            rows.append(
                {
                    "training set": trainset,
                    "split": split,
                    "images": info["count"],
                    "smallest class": min(counts),
                    "largest class": max(counts),
                    "imbalance (largest / smallest)": max(counts) / max(min(counts), 1),
                }
            )
            balance.append(
                {
                    "training set": trainset,
                    "split": split,
                    **{name: n for name, n in zip(summary["class_names"], counts, strict=True)},
                }
            )
    return pl.DataFrame(rows), pl.DataFrame(balance)
