"""Labels for an unconditional generator (Wang et al. 2024 §3.2): a classifier trained on the real training
split labels each sample, and only samples it labels with softmax confidence of at least
``confidence`` (0.8 in the paper) are kept. Sampling continues until every class has its quota, so a
pseudo-labelled set is class-balanced like a conditional one; the kept fraction per class is recorded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from synthval.evaluation.predict import predict
from synthval.generators.base import Generator, sample_with

if TYPE_CHECKING:
    from synthval.classifiers import Classifier

log = logging.getLogger("synthval.generators.pseudo_label")


@torch.no_grad()
def pseudo_labelled_sample(
    model: Generator,
    classifier: Classifier,
    quotas: np.ndarray,
    seed: int,
    confidence: float,
    batch_size: int = 256,
    max_draws: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw from ``model`` (label 0: it is unconditional) until ``quotas[c]`` confident samples of
    every class ``c`` are kept, or ``max_draws`` samples have been drawn (default: 20x the total quota).

    Returns the kept images (uint8 NHWC, in the order drawn), their pseudo-labels, and statistics:
    per class, how many draws the classifier assigned to it, how many of those were confident (the
    kept fraction), how many were used, and any shortfall against the quota.
    """
    quotas = np.asarray(quotas, np.int64)
    need = quotas.copy()
    max_draws = int(max_draws if max_draws is not None else 20 * max(int(quotas.sum()), 1))
    gen = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    predicted = np.zeros(len(quotas), np.int64)
    confident = np.zeros(len(quotas), np.int64)
    kept_images: list[np.ndarray] = []
    kept_labels: list[int] = []
    drawn = 0
    while need.sum() > 0 and drawn < max_draws:
        n = min(batch_size, max_draws - drawn)
        images = sample_with(model, np.zeros(n, np.int64), gen, batch_size)
        label, conf = predict(classifier, images, batch_size)
        drawn += n
        np.add.at(predicted, label, 1)
        np.add.at(confident, label[conf >= confidence], 1)
        for i in np.flatnonzero(conf >= confidence):
            if need[label[i]] > 0:
                need[label[i]] -= 1
                kept_images.append(images[i])
                kept_labels.append(int(label[i]))
    short = {c: int(k) for c, k in enumerate(need) if k > 0}
    if short:
        log.warning(
            "after %d draws, classes %s are short of their quota by %s: the generator rarely makes them with "
            "confidence >= %.2f",
            drawn,
            sorted(short),
            list(short.values()),
            confidence,
        )
    stats = {
        "confidence": confidence,
        "drawn": drawn,
        "per_class": [
            {
                "class": c,
                "predicted": int(predicted[c]),
                "confident": int(confident[c]),
                "kept_fraction": float(confident[c] / predicted[c]) if predicted[c] else 0.0,
                "used": int(quotas[c] - need[c]),
                "quota": int(quotas[c]),
            }
            for c in range(len(quotas))
        ],
    }
    shape = (0, model.image_size, model.image_size, model.in_chans)
    return (
        (np.stack(kept_images) if kept_images else np.zeros(shape, np.uint8)),
        np.asarray(kept_labels, np.int64),
        stats,
    )


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-shard statistics into those of the whole synthetic set."""
    if not parts:
        return {}
    classes = len(parts[0]["per_class"])
    per_class = []
    for c in range(classes):
        row = {k: sum(p["per_class"][c][k] for p in parts) for k in ("predicted", "confident", "used", "quota")}
        row["kept_fraction"] = row["confident"] / row["predicted"] if row["predicted"] else 0.0
        per_class.append({"class": c, **row})
    return {"confidence": parts[0]["confidence"], "drawn": sum(p["drawn"] for p in parts), "per_class": per_class}
