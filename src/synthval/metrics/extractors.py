"""Feature extractors for the quality metrics. Every metric of one run is computed in one feature space,
and the features file records which extractor made it.

- ``reference`` (the offline default): the penultimate layer of the classifier the pipeline trained on
  the real train split only (the test split never reaches it).
- ``inception``: the TF-compatible Inception-v3 of torch-fidelity and clean-fid (2048-d pool features,
  fp32, TensorFlow 1.x's bilinear resize to 299 px, pixels scaled to [-1, 1]): the network behind
  published FIDs (Heusel et al. 2017). Its layers are torch-fidelity's own; the weights are
  torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` converted to safetensors.
- ``dinov2``: DINOv2's normalised CLS token (Oquab et al. 2023) at 224 px, bicubic, ImageNet
  normalisation: the feature space Stein et al. (2023, dgm-eval) recommend over Inception for FID and
  the other metrics. Weights: the official ``dinov2_vitl14_pretrain.pth`` (or any size, named by
  ``timm_model``) or timm's, converted to safetensors.
- ``timm``: any timm model's pooled features (e.g. a CLIP image tower), from a local safetensors file,
  images resized to the model's input size.
- ``random``: a VGG-16's convolutional layers as a fixed seed initialises them, average-pooled to 512-d,
  at the images' own size (32 to 224 px): ``synthval score``'s offline default. Random embeddings
  order sets much as trained ones do, and need no weights (Naeem et al. 2020, "random embeddings");
  scores are comparable between sets scored with the same seed and PyTorch version (the weights'
  digest is recorded), not with published FIDs.
- ``sscd``: the copy-detection descriptor of Pizzi et al. (2022), a ResNet-50 with GeM pooling (p = 3)
  and a 512-d projection, L2-normalised, at 288 px: the torchvision release of its weights
  (``sscd_disc_mixup.torchvision.pt``) converted to safetensors. Copy detection's extractor of choice.

Nothing is downloaded: a missing weights file is an error that says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthval.io import load_tensors
from synthval.metrics.features import extract_features
from synthval.runtime import accelerator
from synthval.runtime import device as _device

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Extractor:
    """``network`` maps float [0, 1] NCHW images at ``input_size`` (RGB, normalised by mean/std) to features."""

    name: str
    network: nn.Module
    input_size: int
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    info: dict[str, Any] = field(default_factory=dict)
    interpolation: str = "bilinear"
    raw_pixels: bool = False  # the network takes uint8 RGB at any size and does its own resize and scaling
    batch_size: int = 128  # images per forward pass (a streamed set is read in batches of this size)

    @torch.no_grad()
    def __call__(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Features (float32, one row per image) of uint8 NHWC ``images``."""
        batch_size = batch_size or self.batch_size
        device = next(self.network.parameters()).device
        mean = torch.tensor(self.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, -1, 1, 1)
        out, autocast = [], accelerator().autocast
        for start in range(0, len(images), batch_size):
            x = torch.as_tensor(images[start : start + batch_size], device=device).permute(0, 3, 1, 2)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            if self.raw_pixels:  # fp32 throughout, as the published numbers were computed
                out.append(self.network(x.contiguous())[0].float().cpu().numpy())
                continue
            x = x.float().div(255)
            if x.shape[-1] != self.input_size:
                x = F.interpolate(
                    x,
                    size=(self.input_size, self.input_size),
                    mode=self.interpolation,
                    align_corners=False,
                    antialias=True,
                )
            with autocast(device):
                out.append(self.network((x - mean) / std).float().flatten(1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _read_weights(path: str | Path, what: str, fetch: str | None = None) -> dict[str, torch.Tensor]:
    if not Path(path).exists():
        get = (
            f"synthval weights fetch {fetch} --out {path} downloads the published ones"
            if fetch
            else "put a safetensors file there (convert a .pth with "
            "safetensors.torch.save_file(torch.load(p, weights_only=True), out))"
        )
        raise FileNotFoundError(f"{what} weights not found at {path}: {get}")
    return load_tensors(path)[0]


#: Where timm and torchvision keep a network's classification head.
HEAD_PREFIXES = ("fc.", "head.", "classifier.", "last_linear.", "AuxLogits.", "head_dist.")


def _load_weights(
    module: nn.Module,
    path: str | Path,
    what: str,
    keep_head: bool = False,
    convert: Any = None,
    fetch: str | None = None,
) -> None:
    """Load a safetensors state dict into ``module`` (through ``convert(tensors, module)`` where the file
    may use another naming); a classifier head may be absent unless ``keep_head`` (where the head is
    part of the features)."""
    tensors = _read_weights(path, what, fetch)
    if convert is not None:
        tensors = convert(tensors, module)
    if not keep_head:  # a classifier's head, saved with it, is not part of a feature extractor
        own = set(module.state_dict())
        tensors = {k: v for k, v in tensors.items() if k in own or not k.startswith(HEAD_PREFIXES)}
    try:
        missing, unexpected = module.load_state_dict(tensors, strict=False)
    except RuntimeError as err:  # shapes that do not fit: another network's weights
        raise ValueError(f"{path} does not hold {what} weights: {str(err).splitlines()[1].strip()}") from err
    missing = [k for k in missing if keep_head or not k.startswith(HEAD_PREFIXES)]
    if missing or unexpected:
        raise ValueError(f"{path} does not hold {what} weights: missing {missing[:5]}, unexpected {unexpected[:5]}")


def tf_inception(state_dict: dict[str, torch.Tensor]) -> nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` (2048-d pool features) holding ``state_dict``.

    Its constructor fetches the weights itself (a download, or ``torch.load`` of a pickle); both are
    replaced here by the tensors already read from a safetensors file. Key names or shapes that do
    not match raise, as ``load_state_dict`` is strict.
    """
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    fetch = tfi.load_state_dict_from_url
    tfi.load_state_dict_from_url = lambda *_args, **_kwargs: state_dict
    try:
        return tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    finally:
        tfi.load_state_dict_from_url = fetch


def random_tf_inception_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict for torch-fidelity's Inception-v3 with random convolutions and batch-norm statistics of
    a batch of noise images (so activations keep their scale through the depth): a stand-in where the
    published weights cannot be downloaded (the tests and ``bench/score.py``; a cost does not depend on
    the values)."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    fetch, load = tfi.load_state_dict_from_url, tfi.FeatureExtractorInceptionV3.load_state_dict
    tfi.load_state_dict_from_url = lambda *_args, **_kwargs: None
    tfi.FeatureExtractorInceptionV3.load_state_dict = lambda self, state: None
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
            for module in net.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.momentum = None
                    module.bias.data.normal_(0.2, 0.1)
            net.train()
            with torch.no_grad():
                net(torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8))
    finally:
        tfi.load_state_dict_from_url, tfi.FeatureExtractorInceptionV3.load_state_dict = fetch, load
    return {k: v.contiguous() for k, v in net.state_dict().items()}


def inception_extractor(weights: str | Path) -> Extractor:
    tensors = _read_weights(weights, "Inception-v3 (torch-fidelity's TF-compatible)", "inception")
    try:
        net = tf_inception(tensors)
    except RuntimeError as err:
        raise ValueError(
            f"{weights} does not hold the TF-compatible Inception-v3 weights (torch-fidelity's "
            f"weights-inception-2015-12-05-6726825d.pth converted to safetensors): {str(err).splitlines()[0]}"
        ) from err
    info = {"weights": str(weights), "dim": 2048, "network": "torch-fidelity inception-v3-compat, fp32"}
    return Extractor("inception", net.to(_device()), 299, info=info, raw_pixels=True)


DINOV2_SIZE = 224  # dgm-eval's input size


def dinov2_extractor(weights: str | Path, model: str | None = None) -> Extractor:
    """DINOv2's CLS token after the final norm, from the official checkpoint or timm's (timm's
    ``checkpoint_filter_fn`` converts the former and resamples the position embedding to 224 px)."""
    import timm
    from timm.models.vision_transformer import checkpoint_filter_fn

    model = model or "vit_large_patch14_dinov2"
    net = timm.create_model(model, pretrained=False, num_classes=0, img_size=DINOV2_SIZE)
    _load_weights(net, weights, f"DINOv2 {model}", convert=checkpoint_filter_fn, fetch="dinov2")
    info = {"model": model, "weights": str(weights), "dim": net.num_features}
    return Extractor("dinov2", net.to(_device()).eval(), DINOV2_SIZE, info=info, interpolation="bicubic")


def timm_extractor(model: str, weights: str | Path, input_size: int | None = None) -> Extractor:
    import timm

    net = timm.create_model(model, pretrained=False, num_classes=0)
    _load_weights(net, weights, f"timm {model}")
    config = timm.data.resolve_data_config({}, model=net)
    size = input_size or config["input_size"][-1]
    return Extractor(
        "timm",
        net.to(_device()).eval(),
        size,
        tuple(config["mean"]),
        tuple(config["std"]),
        info={"model": model, "weights": str(weights), "dim": net.num_features},
    )


class _GeM(nn.Module):
    """Generalised-mean pooling over all positions (SSCD's ``GlobalGeMPool2d``)."""

    def __init__(self, p: float = 3.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=1e-6).pow(self.p).mean(dim=(2, 3), keepdim=True).pow(1.0 / self.p)


class _L2Normalised(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=1)


SSCD_SIZE = 288  # SSCD's evaluation resolution (the short side; images here are square)


def sscd_extractor(weights: str | Path) -> Extractor:
    """SSCD's torchvision model: ResNet-50 whose ``fc`` is the 2048-to-512 projection, GeM pooling."""
    from torchvision.models import resnet50

    net = resnet50(weights=None, num_classes=512)
    net.avgpool = _GeM(3.0)
    _load_weights(net, weights, "SSCD", keep_head=True, fetch="sscd")
    return Extractor(
        "sscd", _L2Normalised(net).to(_device()).eval(), SSCD_SIZE, info={"weights": str(weights), "dim": 512}
    )


#: The random extractor's input sizes: VGG-16 pools 5 times (32 px leaves 1 x 1), and 224 px is its own.
RANDOM_SIZES = (32, 224)


def random_extractor(image_size: int, seed: int = 0) -> Extractor:
    """VGG-16's convolutional layers (torchvision's configuration D, no batch norm), initialised from
    ``seed`` as torchvision initialises them (He normal, fan-out; zero biases), average-pooled, at
    ``image_size`` clamped to :data:`RANDOM_SIZES`. The draws use the CPU generator, so the weights
    are the same on any machine with the same PyTorch."""
    import hashlib

    from torchvision.models.vgg import cfgs, make_layers

    convolutions = make_layers(cfgs["D"], batch_norm=False)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for layer in convolutions:
            if isinstance(layer, nn.Conv2d) and layer.bias is not None:
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    net = nn.Sequential(convolutions, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode() + tensor.numpy().tobytes())
    size = min(max(image_size, RANDOM_SIZES[0]), RANDOM_SIZES[1])
    info = {"network": "vgg16 convolutions, He-initialised", "seed": seed, "sha256": digest.hexdigest()[:16]}
    info["dim"] = 512
    return Extractor("random", net.to(_device()).eval(), size, info=info)


class ReferenceExtractor:
    """The reference classifier's penultimate layer, at the data's own resolution and normalisation."""

    name = "reference"
    batch_size = 512

    def __init__(self, weights: str | Path):
        from synthval.classifiers import load_classifier

        self.classifier, meta = load_classifier(weights, _device())
        self.info = {
            "weights": str(weights),
            "arch": meta["arch"],
            "epoch": meta.get("epoch"),
            "dim": self.classifier.feature_dim,
            "trained_on": "train split",
        }

    def __call__(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return extract_features(self.classifier, images, batch_size or self.batch_size).astype(np.float32)


def build_extractor(settings: dict[str, Any], reference: str | Path | None) -> Extractor | ReferenceExtractor:
    """The extractor that ``settings`` (the config's ``quality`` section) names."""
    kind = settings["extractor"]
    if kind == "random":
        return random_extractor(settings.get("input_size") or RANDOM_SIZES[0], settings.get("seed", 0))
    if kind == "reference":
        if reference is None:
            raise ValueError("the reference extractor needs the reference classifier's weights")
        return ReferenceExtractor(reference)
    if not settings.get("weights"):
        raise ValueError(f"quality.extractor {kind} needs quality.weights, a local safetensors file")
    if kind == "inception":
        return inception_extractor(settings["weights"])
    if kind == "dinov2":
        return dinov2_extractor(settings["weights"], settings.get("timm_model"))
    if kind == "timm":
        return timm_extractor(settings["timm_model"], settings["weights"], settings.get("input_size"))
    if kind == "sscd":
        return sscd_extractor(settings["weights"])
    raise ValueError(f"unknown extractor {kind!r}; use reference, inception, dinov2, timm or sscd")
