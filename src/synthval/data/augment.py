"""The augmented training split as a validation set: the baseline of Li et al. (2020) that Shoshan et al. 2023 §2
cites, which validates on augmented copies of the training images instead of holding images out.

Each copy of an image gets one random affine warp (rotation, isotropic scale, translation, optional
horizontal flip) and a photometric change (brightness, contrast), all drawn up front from one seeded
generator, so the set depends on the seed and the settings only, not on batch size or thread count.
The warp is applied with ``grid_sample`` (bilinear, border padding), which is deterministic on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from synthval.data.images import ImageSet
from synthval.seeding import derive_seed

DEFAULTS = {
    "copies": 1,
    "rotation": 15.0,
    "scale": 0.1,
    "shift": 0.125,
    "flip": False,
    "brightness": 0.2,
    "contrast": 0.2,
}


def _uniform(gen: torch.Generator, n: int, half_width: float) -> torch.Tensor:
    return (torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1) * half_width


def augment_images(images: np.ndarray, settings: Mapping[str, object], seed: int, batch_size: int = 1024) -> np.ndarray:
    """One augmented copy of every uint8 NHWC image.

    ``rotation`` is the largest angle in degrees, ``scale`` the largest relative zoom, ``shift`` the
    largest translation as a fraction of the image side, ``brightness`` and ``contrast`` the largest
    relative change of each; ``flip`` mirrors half of the images.
    """
    s: dict[str, Any] = {**DEFAULTS, **settings}
    n = len(images)
    gen = torch.Generator().manual_seed(seed)
    angle = _uniform(gen, n, math.radians(float(s["rotation"])))
    zoom = 1 + _uniform(gen, n, float(s["scale"]))
    tx, ty = _uniform(gen, n, 2 * float(s["shift"])), _uniform(gen, n, 2 * float(s["shift"]))  # grid units span 2
    mirror = (
        torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).double()
        if s["flip"]
        else torch.ones(n, dtype=torch.float64)
    )
    bright = 1 + _uniform(gen, n, float(s["brightness"]))
    contrast = 1 + _uniform(gen, n, float(s["contrast"]))
    # theta maps output to input coordinates: the inverse of "zoom, rotate, shift"
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos * mirror, -sin, tx], 1), torch.stack([sin * mirror, cos, ty], 1)], 1).float()
    out = np.empty_like(images)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        x = torch.from_numpy(images[start:stop]).permute(0, 3, 1, 2).float()
        grid = F.affine_grid(theta[start:stop], list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast[start:stop, None, None, None].float() + mean
        x = x * bright[start:stop, None, None, None].float()
        out[start:stop] = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def augmented_set(images: ImageSet, settings: Mapping[str, object], seed: int) -> ImageSet:
    """``copies`` augmented versions of every image of ``images``, keyed ``<key>-aug<j>``; copy j has
    its own seed derived from (``seed``, j), so adding copies keeps the earlier ones."""
    merged: dict[str, Any] = {**DEFAULTS, **settings}
    copies = int(merged["copies"])
    keys: list[str] = []
    parts, labels = [], []
    for j in range(copies):
        parts.append(augment_images(images.images, settings, derive_seed(seed, "copy", j)))
        keys += [f"{k}-aug{j}" for k in images.keys]
        labels.append(images.labels)
    return ImageSet(keys, np.concatenate(parts), np.concatenate(labels))
