"""Run a classifier over an image set once and keep every per-sample outcome (DESIGN data contract):
model id, epoch, eval set, sample key, label, prediction, confidence."""

from __future__ import annotations

import numpy as np
import polars as pl
import torch

from synthval.data.images import ImageSet


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its softmax probability for uint8 NHWC ``images``."""
    device = next(model.parameters()).device
    model.eval()
    preds, confs = [], []
    for start in range(0, len(images), batch_size):
        x = torch.as_tensor(images[start : start + batch_size], device=device).permute(0, 3, 1, 2).float().div_(255)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            probs = model(x).float().softmax(1)
        conf, pred = probs.max(1)
        preds.append(pred.cpu().numpy())
        confs.append(conf.cpu().numpy())
    return np.concatenate(preds).astype(np.int64), np.concatenate(confs).astype(np.float32)


def prediction_table(model_id: str, epoch: int, eval_set: str, images: ImageSet, pred: np.ndarray, conf: np.ndarray) -> pl.DataFrame:
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
