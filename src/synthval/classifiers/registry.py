"""One registry and one entry point, :func:`create_classifier`, in the style of timm's ``create_model``."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from synthval.io import load_tensors, save_tensors

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


class Classifier(nn.Module):
    """A network plus its input normalisation, so saved weights carry everything predict needs.
    Inputs are float images in [0, 1], NCHW."""

    mean: torch.Tensor  # buffers: the per-channel input normalisation
    std: torch.Tensor

    def __init__(self, body: nn.Module, in_chans: int, arch: str, config: dict[str, Any]):
        super().__init__()
        self.body = body
        self.arch, self.config = arch, config
        self.register_buffer("mean", torch.full((1, in_chans, 1, 1), 0.5))
        self.register_buffer("std", torch.full((1, in_chans, 1, 1), 0.25))

    def set_normalisation(self, images: torch.Tensor) -> None:
        """Per-channel mean and std of a float [0, 1] NCHW tensor (the training split)."""
        self.set_statistics(images.mean(dim=(0, 2, 3)), images.std(dim=(0, 2, 3)))

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """The input normalisation from per-channel ``mean`` and ``std`` (of [0, 1] pixels), as computed
        over a split that is streamed rather than held (:func:`synthval.classifiers.trainer.channel_stats`)."""
        self.mean.copy_(mean.view_as(self.mean))
        self.std.copy_(std.view_as(self.std).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - self.mean) / self.std)

    @property
    def head(self) -> nn.Linear:
        """The final linear layer: every architecture ends with one."""
        return [m for m in self.body.modules() if isinstance(m, nn.Linear)][-1]

    @property
    def feature_dim(self) -> int:
        return self.head.in_features

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and penultimate-layer features (the input of the final linear layer) of float [0, 1]
        NCHW ``x``, from one forward pass (gradients flow through both)."""
        captured: list[torch.Tensor] = []
        handle = self.head.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
        try:
            logits = self(x)
        finally:
            handle.remove()
        return logits, captured[0].flatten(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features of float [0, 1] NCHW ``x``."""
        return self.forward_features(x)[1]


def register_classifier(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} registered twice")
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_classifiers() -> list[str]:
    return sorted(_REGISTRY)


def create_classifier(
    name: str, num_classes: int, in_chans: int, image_size: int, seed: int | None = None, **hparams: Any
) -> Classifier:
    """Build architecture ``name`` for ``num_classes`` classes and ``in_chans`` x ``image_size``^2 inputs.
    With ``seed`` the initial weights depend on it alone, not on what drew from torch's global RNG before
    (a guide network loaded first, say); the global RNG is left as it was."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; available: {list_classifiers()}")
    try:
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            body = _REGISTRY[name](num_classes=num_classes, in_chans=in_chans, image_size=image_size, **hparams)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        accepted = sorted(
            set(inspect.signature(_REGISTRY[name]).parameters) - {"num_classes", "in_chans", "image_size"}
        )
        raise ValueError(
            f"architecture {name!r} does not take {sorted(hparams)}; its hyper-parameters are {accepted}"
        ) from err
    config = {"num_classes": num_classes, "in_chans": in_chans, "image_size": image_size, "hparams": hparams}
    return Classifier(body, in_chans, name, config)


def state_digest(model: nn.Module) -> str:
    """sha256 of a model's parameters and buffers (names, dtypes, shapes and values in name order): two
    runs that should start from the same weights can be checked to."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_classifier(path: str | Path, model: Classifier, **meta: Any) -> None:
    save_tensors(path, model.state_dict(), {"arch": model.arch, **model.config, **meta})


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> tuple[Classifier, dict[str, Any]]:
    tensors, meta = load_tensors(path)
    model = create_classifier(
        meta["arch"], meta["num_classes"], meta["in_chans"], meta["image_size"], **meta["hparams"]
    )
    model.load_state_dict(tensors)
    return model.to(device).eval(), meta
