"""The generator interface: a registry of families, training on a labelled split, and sampling
``n`` images for given labels from a seed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synthval.io import load_tensors, save_tensors

log = logging.getLogger("synthval.generators")


class Generator(nn.Module):
    """A class-conditional image generator. Subclasses define ``sample_tensor`` (images in [-1, 1],
    NCHW) and a ``fit`` classmethod-free training routine registered with :func:`register`."""

    family: str = ""

    def __init__(self, num_classes: int, in_chans: int, image_size: int, **hparams: Any):
        super().__init__()
        self.num_classes, self.in_chans, self.image_size = num_classes, in_chans, image_size
        self.hparams = hparams

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


_FAMILIES: dict[str, tuple[type[Generator], Callable[..., dict]]] = {}


def register(name: str, trainer: Callable[..., dict]) -> Callable[[type[Generator]], type[Generator]]:
    """Register a generator family under ``name`` with its training function."""

    def wrap(cls: type[Generator]) -> type[Generator]:
        cls.family = name
        _FAMILIES[name] = (cls, trainer)
        return cls

    return wrap


def list_generators() -> list[str]:
    return sorted(_FAMILIES)


def create_generator(name: str, num_classes: int, in_chans: int, image_size: int, **hparams: Any) -> Generator:
    if name not in _FAMILIES:
        raise ValueError(f"unknown generator {name!r}; available: {list_generators()}")
    return _FAMILIES[name][0](num_classes=num_classes, in_chans=in_chans, image_size=image_size, **hparams)


def train_generator(model: Generator, images: np.ndarray, labels: np.ndarray, **kwargs: Any) -> dict:
    """Train ``model`` on uint8 NHWC ``images``; returns the training record (history, chosen step)."""
    return _FAMILIES[model.family][1](model, images, labels, **kwargs)


def save_generator(path: str | Path, model: Generator, record: dict) -> None:
    meta = {"family": model.family, "num_classes": model.num_classes, "in_chans": model.in_chans, "image_size": model.image_size, "hparams": model.hparams, "record": record}
    save_tensors(path, model.state_dict(), meta)


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> Generator:
    tensors, meta = load_tensors(path)
    model = create_generator(meta["family"], meta["num_classes"], meta["in_chans"], meta["image_size"], **meta["hparams"])
    model.load_state_dict(tensors)
    return model.to(device).eval()


def to_unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    t = torch.as_tensor(images)
    return t.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC."""
    return images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def sample_images(model: Generator, labels: np.ndarray, seed: int, batch_size: int = 256) -> np.ndarray:
    """Sample one image per entry of ``labels``; the same (model, labels, seed) gives the same bytes on CPU."""
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    out = []
    for start in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[start : start + batch_size], device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out.append(to_uint8(model.sample_tensor(y, gen)))
    return np.concatenate(out) if out else np.zeros((0, model.image_size, model.image_size, model.in_chans), np.uint8)
