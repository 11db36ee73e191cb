"""Splitting a class-balanced synthetic set across shards."""

from __future__ import annotations

import numpy as np


def shard_labels(num_classes: int, per_class: int, shards: int, index: int) -> np.ndarray:
    """Labels of shard ``index`` of ``shards``: the set has ``per_class`` images of every class, the
    labels cycle through classes, and shards take consecutive slices, so each shard is balanced to
    within one image per class and together they hold exactly ``per_class * num_classes`` images."""
    if not 0 <= index < shards:
        raise ValueError(f"shard index {index} outside 0..{shards - 1}")
    total = num_classes * per_class
    bounds = np.linspace(0, total, shards + 1).round().astype(int)
    return (np.arange(bounds[index], bounds[index + 1]) % num_classes).astype(np.int64)
