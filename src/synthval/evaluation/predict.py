"""Run a classifier over an image set once and keep every per-sample outcome (DESIGN data contract):
model id, epoch, eval set, sample key, label, prediction, confidence."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import torch

from synthval.classifiers.guidance import pgd_attack
from synthval.data.images import ImageSet
from synthval.data.stream import ShardStream, stream_batches
from synthval.runtime import Progress, accelerator

log = logging.getLogger("synthval.evaluation")

#: Images per forward pass (a streamed set is read in batches of this size, so it gives the same numbers).
BATCH_SIZE = 512


K = TypeVar("K", bound=Hashable)  # what names a set's functions or models (a member, a (member, epoch) pair)


def _logits(model: torch.nn.Module, images: np.ndarray, batch_size: int):
    """Logits of uint8 NHWC ``images``, batch by batch (float32, on the model's device)."""
    device = next(model.parameters()).device
    model.eval()
    autocast = accelerator().autocast
    for start in range(0, len(images), batch_size):
        x = torch.as_tensor(images[start : start + batch_size], device=device).permute(0, 3, 1, 2).float().div_(255)
        with autocast(device):
            yield model(x).float()


def _probabilities(model: torch.nn.Module, images: np.ndarray, batch_size: int):
    """Softmax probabilities of uint8 NHWC ``images``, batch by batch (float32, on the model's device)."""
    for logits in _logits(model, images, batch_size):
        yield logits.softmax(1)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The (N, classes) float32 logits of uint8 NHWC ``images`` (what membership inference reads:
    confidences near 1 keep their precision)."""
    return np.concatenate([z.cpu().numpy() for z in _logits(model, images, batch_size)]).astype(np.float32)


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, batch_size: int = BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its softmax probability for uint8 NHWC ``images``."""
    preds, confs = [], []
    for probs in _probabilities(model, images, batch_size):
        conf, pred = probs.max(1)
        preds.append(pred.cpu().numpy())
        confs.append(conf.cpu().numpy())
    return np.concatenate(preds).astype(np.int64), np.concatenate(confs).astype(np.float32)


def map_set(
    manifest: str | Path,
    functions: Mapping[K, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]],
    batch_size: int = BATCH_SIZE,
) -> tuple[list[str], np.ndarray, dict[K, tuple[np.ndarray, ...]]]:
    """Each of ``functions`` (uint8 NHWC images, labels -> per-image arrays) over one image set, streamed
    once for them all in batches of ``batch_size`` (:mod:`synthval.data.stream`): memory holds one batch,
    whatever the set's size. With this module's functions at the same ``batch_size``, the numbers are a
    whole read's. Returns the set's keys and labels, and per function its arrays over the whole set."""
    stream = ShardStream(manifest)
    progress = Progress(log, f"images of {manifest}", len(stream))
    keys: list[str] = []
    labels: list[np.ndarray] = []
    outcomes: dict[K, list[tuple[np.ndarray, ...]]] = {name: [] for name in functions}
    for batch in stream_batches(stream, batch_size):
        keys += batch.keys
        labels.append(batch.labels)
        for name, function in functions.items():
            outcomes[name].append(function(batch.images, batch.labels))
        progress.update(len(keys))
    joined = {name: tuple(map(np.concatenate, zip(*parts, strict=True))) for name, parts in outcomes.items()}
    return keys, np.concatenate(labels), joined


def predict_set(
    models: Mapping[K, torch.nn.Module], manifest: str | Path, batch_size: int = BATCH_SIZE
) -> tuple[list[str], np.ndarray, dict[K, tuple[np.ndarray, np.ndarray]]]:
    """Every model's :func:`predict` on one image set streamed once for them all (:func:`map_set`)."""
    keys, labels, outcomes = map_set(
        manifest, {name: partial(_predict, model, batch_size) for name, model in models.items()}, batch_size
    )
    return keys, labels, {name: (classes, confidences) for name, (classes, confidences) in outcomes.items()}


def _predict(model: torch.nn.Module, batch_size: int, images: np.ndarray, labels: np.ndarray):
    return predict(model, images, batch_size)


@torch.no_grad()
def predict_with_loss(
    model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = BATCH_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted class, its probability, and every sample's cross-entropy ``-log p(label)`` (the
    per-sample loss of Wang et al. 2024 Observation 3)."""
    outcomes: list[tuple[np.ndarray, ...]] = []
    start = 0
    for probs in _probabilities(model, images, batch_size):
        outcomes.append(_outcomes(probs, labels[start : start + len(probs)]))
        start += len(probs)
    return _concatenate(outcomes)


def _outcomes(probs: torch.Tensor, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = torch.as_tensor(labels, device=probs.device)
    conf, pred = probs.max(1)
    loss = -probs.gather(1, y[:, None]).squeeze(1).clamp_min(1e-12).log()
    return pred.cpu().numpy(), conf.cpu().numpy(), loss.cpu().numpy()


def _concatenate(outcomes: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred, conf, loss = (np.concatenate(parts) for parts in zip(*outcomes, strict=True))
    return pred.astype(np.int64), conf.astype(np.float32), loss.astype(np.float32)


def predict_under_attack(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    epsilon: float,
    step_size: float,
    steps: int,
    seed: int | torch.Generator,
    batch_size: int = BATCH_SIZE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_with_loss` on l-infinity PGD adversarial versions of ``images`` (Sehwag et al.'s robust
    accuracy), the attack's random starts drawn from ``seed`` (a generator carries on across the batches
    of a streamed set)."""
    device = next(model.parameters()).device
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    model.eval()
    outcomes = []
    for start in range(0, len(images), batch_size):
        x = torch.as_tensor(images[start : start + batch_size], device=device).permute(0, 3, 1, 2).float().div_(255)
        y = labels[start : start + batch_size]
        adv = pgd_attack(model, x, torch.as_tensor(y, device=device), epsilon, step_size, steps, gen)
        with torch.no_grad():
            outcomes.append(_outcomes(model(adv).float().softmax(1), y))
    return _concatenate(outcomes)


def prediction_table(
    model_id: str, epoch: int, eval_set: str, images: ImageSet, pred: np.ndarray, conf: np.ndarray
) -> pl.DataFrame:
    """One model's outcomes on one set (``images``: the set, of which only its keys and labels are read)."""
    return pl.DataFrame(
        {
            "model": [model_id] * len(images),
            "epoch": np.full(len(images), epoch, np.int64),
            "eval_set": [eval_set] * len(images),
            "key": images.keys,
            "label": images.labels,
            "prediction": pred,
            "confidence": conf,
        }
    )
