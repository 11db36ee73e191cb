"""Shifted copies of the test split: common corruptions in the style of CIFAR-10-C (Hendrycks and
Dietterich, 2019), the out-of-distribution benchmark of Yuan et al. 2024 §4.4 and App. G.3.

Each corruption has five severities; the parameters are those of the CIFAR-10-C code (its 32x32
settings), blur sigmas and radii in pixels whatever the image size (scaled down to 16 pixels, the mildest
blurs would vanish below one grey level, and defocus would stop growing with severity); noise, contrast,
brightness, JPEG quality and pixelation are relative to the image already. Noise is drawn from one
generator seeded by (seed, corruption, severity), so a shifted set depends on those only.

Omitted from CIFAR-10-C: the corruptions that need external assets or are defined at 224 pixels (frost,
fog, snow, spatter, motion and zoom blur, glass blur, elastic transform).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
from PIL import Image
from scipy import ndimage

from synthval.data.images import ImageSet
from synthval.seeding import derive_seed

SEVERITIES = (1, 2, 3, 4, 5)

Corruption = Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]  # image, parameter, rng


def _gaussian_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, c, size=x.shape)


def _shot_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(x * c) / c


def _impulse_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """Salt and pepper on a fraction ``c`` of the values, half each."""
    u = rng.random(x.shape)
    out = x.copy()
    out[u < c / 2] = 0.0
    out[(u >= c / 2) & (u < c)] = 1.0
    return out


def _speckle_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return x + x * rng.normal(0.0, c, size=x.shape)


def _gaussian_blur(x: np.ndarray, c: float, _: np.random.Generator) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, c, c, 0), mode="nearest")


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """The defocus kernel of CIFAR-10-C: a disk of ``radius``, smoothed by ``alias_blur``."""
    r = max(radius, 0.5)
    span = np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1)
    yy, xx = np.meshgrid(span, span, indexing="ij")
    kernel = (xx**2 + yy**2 <= r**2).astype(np.float64)
    kernel = ndimage.gaussian_filter(kernel / kernel.sum(), alias_blur)
    return kernel / kernel.sum()


def _defocus_blur(x: np.ndarray, c: tuple[float, float], _: np.random.Generator) -> np.ndarray:
    kernel = _disk(c[0], c[1])
    return ndimage.convolve(x, kernel[None, :, :, None], mode="nearest")


def _contrast(x: np.ndarray, c: float, _: np.random.Generator) -> np.ndarray:
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * c + mean


def _brightness(x: np.ndarray, c: float, _: np.random.Generator) -> np.ndarray:
    if x.shape[-1] == 1:  # a grey image is its own value channel
        return x + c
    hsv = rgb_to_hsv(np.clip(x, 0, 1))
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return hsv_to_rgb(hsv)


def _jpeg(x: np.ndarray, c: float, _: np.random.Generator) -> np.ndarray:
    out = np.empty_like(x)
    for i, image in enumerate(_to_uint8(x)):
        buf = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, "JPEG", quality=int(c))
        decoded = np.asarray(Image.open(buf))
        out[i] = (decoded[..., None] if decoded.ndim == 2 else decoded) / 255.0
    return out


def _pixelate(x: np.ndarray, c: float, _: np.random.Generator) -> np.ndarray:
    out = np.empty_like(x)
    h, w = x.shape[1:3]
    small = (max(1, int(w * c)), max(1, int(h * c)))
    for i, image in enumerate(_to_uint8(x)):
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        decoded = np.asarray(pil.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BOX))
        out[i] = (decoded[..., None] if decoded.ndim == 2 else decoded) / 255.0
    return out


#: name -> (function, the parameter at severities 1..5)
CORRUPTIONS: dict[str, tuple[Corruption, tuple]] = {
    "gaussian_noise": (_gaussian_noise, (0.04, 0.06, 0.08, 0.09, 0.10)),
    "shot_noise": (_shot_noise, (500, 250, 100, 75, 50)),
    "impulse_noise": (_impulse_noise, (0.01, 0.02, 0.03, 0.05, 0.07)),
    "speckle_noise": (_speckle_noise, (0.06, 0.1, 0.12, 0.16, 0.2)),
    "gaussian_blur": (_gaussian_blur, (0.4, 0.6, 0.7, 0.8, 1.0)),
    "defocus_blur": (_defocus_blur, ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1))),
    "contrast": (_contrast, (0.75, 0.5, 0.4, 0.3, 0.15)),
    "brightness": (_brightness, (0.05, 0.1, 0.15, 0.2, 0.3)),
    "jpeg_compression": (_jpeg, (80, 65, 58, 50, 40)),
    "pixelate": (_pixelate, (0.95, 0.9, 0.85, 0.75, 0.65)),
}


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def corruption_seed(seed: int, corruption: str, severity: int) -> int:
    return derive_seed(seed, "corruption", corruption, severity)


def corrupt(images: np.ndarray, corruption: str, severity: int, seed: int) -> np.ndarray:
    """``images`` (uint8 NHWC) with ``corruption`` at ``severity`` (1-5), as uint8."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {corruption!r}; choose from {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity} outside 1-5")
    function, params = CORRUPTIONS[corruption]
    rng = np.random.default_rng(corruption_seed(seed, corruption, severity))
    x = images.astype(np.float64) / 255.0
    return _to_uint8(function(x, params[severity - 1], rng))


def shift_key(key: str, corruption: str, severity: int) -> str:
    return f"{key}-{corruption}-{severity}"


def corrupted_set(images: ImageSet, corruption: str, seed: int) -> ImageSet:
    """Every image of ``images`` at each severity of ``corruption``, severity-major, keyed
    ``<key>-<corruption>-<severity>``."""
    parts = [corrupt(images.images, corruption, s, seed) for s in SEVERITIES]
    keys = [shift_key(k, corruption, s) for s in SEVERITIES for k in images.keys]
    return ImageSet(keys=keys, images=np.concatenate(parts), labels=np.tile(images.labels, len(SEVERITIES)))


def severity_of(keys: list[str]) -> np.ndarray:
    """The severity of each key of a corrupted set (its last ``-`` field)."""
    return np.array([int(k.rsplit("-", 1)[1]) for k in keys], dtype=np.int64)
