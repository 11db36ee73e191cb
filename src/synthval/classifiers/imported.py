"""Classifiers trained elsewhere (``zoo.imported``), made zoo members: an architecture (a registry name,
or ``timm`` with ``model_name``), a local safetensors file of the network's weights, and the input
preprocessing the network was trained with (per-channel ``mean`` and ``std`` of [0, 1] images; the
images are brought to the data's size and, with ``input_size``, resized again for the network). Shoshan et al. 2023
§4.3-4.4 ranks such pretrained models; they are evaluated on every set and ranked like trained members,
without a training job. Weights that do not fit stop the import with a message naming the member."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from synthval.classifiers.registry import Classifier, create_classifier
from synthval.io import load_tensors


def import_classifier(
    name: str, entry: dict[str, Any], num_classes: int, image_shape: tuple[int, int, int]
) -> Classifier:
    """The member ``name`` of ``zoo.imported`` (its ``entry``) for images of ``image_shape`` (H, W, C)."""
    where = f"imported classifier {name!r} ({entry['weights']})"
    h, _, channels = image_shape
    hparams = dict(entry.get("hparams") or {})
    if entry["architecture"] == "timm":
        hparams |= {"model_name": entry["timm_model"], "input_size": entry.get("input_size")}
    try:
        model = create_classifier(entry["architecture"], num_classes, channels, h, **hparams)
    except (ValueError, RuntimeError) as err:
        raise ValueError(f"{where}: cannot build {entry['architecture']} {hparams}: {err}") from err
    if not Path(entry["weights"]).is_file():
        raise FileNotFoundError(f"{where}: no weights file")
    try:
        tensors, _ = load_tensors(entry["weights"])
    except Exception as err:  # any unreadable file is the same user error
        raise ValueError(f"{where}: not a readable safetensors file ({err})") from err
    network = getattr(model.body, "network", model.body)  # inside the resizing wrapper, if any
    try:
        network.load_state_dict(tensors)
    except RuntimeError as err:
        first = str(err).splitlines()[1:3]
        raise ValueError(f"{where}: the weights do not fit {entry['architecture']}: {' '.join(first)}") from err
    mean, std = entry["mean"], entry["std"]
    if len(mean) != channels or len(std) != channels:
        raise ValueError(f"{where}: mean and std need {channels} values (the data's channels)")
    model.mean.copy_(torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
    model.std.copy_(torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
    return model.eval()
