"""timm architectures adapted to small (8-32 px) images, registered under short names (and ImageNet's
ResNet-50 as it is, for 224 px).

Each keeps timm's network and replaces only what assumes 224 px inputs: the stride-2 (or patchify)
stem becomes a stride-1 3x3 convolution and stem max-pooling is dropped, so a 16 px image still has
spatial extent in the last stage; ViT uses patches sized to give an 8x8 token grid. ``width`` scales
the channels where timm exposes them (the defaults keep CPU runs short; paper-scale configs raise it).
Weights are always randomly initialised: nothing is downloaded.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from synthval.classifiers.registry import register_classifier


def _small_stem(conv: nn.Conv2d) -> nn.Conv2d:
    return nn.Conv2d(conv.in_channels, conv.out_channels, 3, 1, 1, bias=conv.bias is not None)


def _four_stage_resnet(block: str, depths: tuple[int, ...], num_classes: int, in_chans: int, width: int) -> nn.Module:
    """timm's ResNet with ``block`` (``BasicBlock`` or ``Bottleneck``) stages of ``depths`` at widths w, 2w,
    4w, 8w, its ImageNet stem (7x7, stride 2, max-pooling) as timm builds it."""
    from timm.models import resnet

    channels = tuple(width * m for m in (1, 2, 4, 8))
    kinds = {"BasicBlock": resnet.BasicBlock, "Bottleneck": resnet.Bottleneck}
    return resnet.ResNet(
        kinds[block], depths, num_classes=num_classes, in_chans=in_chans, stem_width=width, channels=channels
    )


@register_classifier("timm_resnet18")
def timm_resnet18(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
    """ResNet-18 (He et al. 2016): 4 stages of 2 basic blocks at widths w, 2w, 4w, 8w, with a small-image stem."""
    model = _four_stage_resnet("BasicBlock", (2, 2, 2, 2), num_classes, in_chans, width)
    model.conv1, model.maxpool = _small_stem(cast(nn.Conv2d, model.conv1)), nn.Identity()
    return model


@register_classifier("resnet50")
def resnet50(num_classes: int, in_chans: int, image_size: int, width: int = 64) -> nn.Module:
    """ResNet-50 (He et al. 2016) as ImageNet trains it, unlike the small-image networks here: the 7x7
    stride-2 stem and max-pooling kept, 4 stages of 3, 4, 6, 3 bottleneck blocks at widths w, 2w, 4w, 8w
    (expansion 4), for 224 px images (Yuan et al. 2024's IN-1K classifier). At the default width it is
    timm's ``resnet50``, layer for layer."""
    return _four_stage_resnet("Bottleneck", (3, 4, 6, 3), num_classes, in_chans, width)


@register_classifier("resnext29")
def resnext29(num_classes: int, in_chans: int, image_size: int, width: int = 16, cardinality: int = 4) -> nn.Module:
    """ResNeXt-29 (Xie et al. 2017, the CIFAR variant of Shoshan et al. 2023 App. F): 3 stages of 3 bottleneck
    blocks with grouped convolutions (``cardinality`` groups of ``width`` // 4 channels)."""
    from timm.models.resnet import Bottleneck, ResNet

    model = ResNet(
        Bottleneck,
        (3, 3, 3),
        num_classes=num_classes,
        in_chans=in_chans,
        stem_width=width,
        channels=(width, 2 * width, 4 * width),
        cardinality=cardinality,
        base_width=max(1, width // 4),
    )
    model.conv1, model.maxpool = _small_stem(model.conv1), nn.Identity()
    model.layer4 = nn.Identity()  # timm's forward always runs four stages; the CIFAR network has three
    return model


@register_classifier("mobilenetv3")
def mobilenetv3(num_classes: int, in_chans: int, image_size: int, width: float = 0.5) -> nn.Module:
    """MobileNetV3-Small (Howard et al. 2019) with channel multiplier ``width`` (0.5, 0.75 or 1)."""
    import timm

    variants = {0.5: "050", 0.75: "075", 1.0: "100"}
    if width not in variants:
        raise ValueError(f"mobilenetv3 width must be one of {sorted(variants)}, got {width}")
    model = timm.create_model(
        f"mobilenetv3_small_{variants[width]}", pretrained=False, num_classes=num_classes, in_chans=in_chans
    )
    model.conv_stem = _small_stem(model.conv_stem)
    return model


@register_classifier("regnetx")
def regnetx(num_classes: int, in_chans: int, image_size: int) -> nn.Module:
    """RegNetX-200MF (Radosavovic et al. 2020)."""
    import timm

    model = timm.create_model("regnetx_002", pretrained=False, num_classes=num_classes, in_chans=in_chans)
    model.stem.conv = _small_stem(model.stem.conv)
    return model


@register_classifier("convnext")
def convnext(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
    """ConvNeXt (Liu et al. 2022), stages of 1, 1, 2, 1 blocks at widths w, 2w, 4w, 8w, 3x3 depthwise
    kernels, with a stride-1 stem."""
    from timm.models.convnext import ConvNeXt

    return ConvNeXt(
        in_chans=in_chans,
        num_classes=num_classes,
        depths=(1, 1, 2, 1),
        dims=(width, 2 * width, 4 * width, 8 * width),
        patch_size=1,
        kernel_sizes=3,
    )


@register_classifier("densenet")
def densenet(num_classes: int, in_chans: int, image_size: int, width: int = 12) -> nn.Module:
    """DenseNet-BC (Huang et al. 2017) with growth rate ``width`` and three dense blocks of 4 layers."""
    from timm.models.densenet import DenseNet

    model = DenseNet(growth_rate=width, block_config=(4, 4, 4), num_classes=num_classes, in_chans=in_chans)
    model.features.conv0, model.features.pool0 = _small_stem(model.features.conv0), nn.Identity()
    return model


@register_classifier("vit")
def vit(num_classes: int, in_chans: int, image_size: int, width: int = 64, depth: int = 4) -> nn.Module:
    """ViT (Dosovitskiy et al. 2021) on an 8x8 grid of patches, ``depth`` blocks of ``width`` channels."""
    from timm.models.vision_transformer import VisionTransformer

    patch = max(1, image_size // 8)
    if image_size % patch:
        raise ValueError(f"vit needs an image size divisible by its patch size {patch}, got {image_size}")
    return VisionTransformer(
        img_size=image_size,
        patch_size=patch,
        in_chans=in_chans,
        num_classes=num_classes,
        embed_dim=width,
        depth=depth,
        num_heads=max(1, width // 32),
        mlp_ratio=2.0,
    )


class _Resized(nn.Module):
    """A network that takes ``size`` x ``size`` inputs, fed images of another size (bilinear)."""

    def __init__(self, network: nn.Module, size: int):
        super().__init__()
        self.network, self.size = network, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return self.network(x)


@register_classifier("timm")
def timm_any(
    num_classes: int, in_chans: int, image_size: int, model_name: str, input_size: int | None = None
) -> nn.Module:
    """Any timm architecture by name, unchanged (for classifiers trained elsewhere: ``zoo.imported``);
    with ``input_size`` the images are resized to it first (a network trained at 224 px, say)."""
    import timm

    model = timm.create_model(model_name, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    return _Resized(model, input_size) if input_size and input_size != image_size else model
