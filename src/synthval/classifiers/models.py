"""Architectures of the zoo, each registering itself by name.

CIFAR-style networks of seed 000 App. F: ResNet-(6n+2) (He et al. 2016), pre-activation ResNets and Wide-ResNets; a small CNN and an MLP as baselines. Strides
suit 8-32 px inputs. timm architectures are in :mod:`.timm_models`, randomly wired networks in
:mod:`.randwire`.
"""

from __future__ import annotations

import torch
from torch import nn

from synthval.classifiers.registry import register_classifier


class BasicBlock(nn.Module):
    """The basic residual block of He et al. 2016 (torchvision's layout and parameter names): two 3x3
    conv-BN pairs and an optional ``downsample`` shortcut. Written out here so that importing the zoo
    does not import torchvision, which costs every classifier job over a second of start-up."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):  # noqa: ANN001, ANN201 - nn.Module signature
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


@register_classifier("mlp")
def mlp(num_classes: int, in_chans: int, image_size: int, width: int = 256) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_chans * image_size**2, width),
        nn.ReLU(inplace=True),
        nn.Linear(width, width),
        nn.ReLU(inplace=True),
        nn.Linear(width, num_classes),
    )


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


@register_classifier("cnn")
def cnn(num_classes: int, in_chans: int, image_size: int, width: int = 32) -> nn.Module:
    return nn.Sequential(
        *_conv_bn(in_chans, width),
        *_conv_bn(width, width),
        nn.MaxPool2d(2),
        *_conv_bn(width, 2 * width),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_classes),
    )


class CifarResNet(nn.Module):
    """ResNet for small images: 3x3 stem, three stages of ``n`` basic blocks at widths w, 2w, 4w."""

    def __init__(self, depth: int, num_classes: int, in_chans: int, width: int = 16):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        layers: list[nn.Module] = _conv_bn(in_chans, width)
        cin = width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                down = None
                if stride != 1 or cin != cout:
                    down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                layers.append(BasicBlock(cin, cout, stride, down))
                cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):  # noqa: ANN001, ANN201 - nn.Module signature
        return self.fc(self.features(x))


def _register_resnet(depth: int) -> None:
    @register_classifier(f"resnet{depth}")
    def build(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
        return CifarResNet(depth, num_classes, in_chans, width)


for _depth in (8, 14, 20, 32, 44, 56, 110):
    _register_resnet(_depth)


class _PreActBlock(nn.Module):
    """Pre-activation basic block (He et al. 2016b): BN-ReLU-conv, BN-ReLU-(dropout)-conv, with a 1x1
    projection of the pre-activated input when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float = 0.0):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):  # noqa: ANN001, ANN201 - nn.Module signature
        h = torch.relu(self.bn1(x))
        skip = self.shortcut(h) if self.shortcut is not None else x
        return skip + self.conv2(self.drop(torch.relu(self.bn2(self.conv1(h)))))


class PreActResNet(nn.Module):
    """Three stages of ``n`` pre-activation blocks at ``widths``: pre-activation ResNet-(6n+2) and
    Wide-ResNet-(6n+4)-k (Zagoruyko & Komodakis 2016), both in seed 000 App. F."""

    def __init__(self, n: int, widths: tuple[int, int, int], num_classes: int, in_chans: int, stem: int = 16, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_chans, stem, 3, 1, 1, bias=False)]
        cin = stem
        for stage, cout in enumerate(widths):
            for i in range(n):
                layers.append(_PreActBlock(cin, cout, 2 if stage > 0 and i == 0 else 1, dropout))
                cin = cout
        self.features = nn.Sequential(*layers, nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):  # noqa: ANN001, ANN201 - nn.Module signature
        return self.fc(self.features(x))


def _register_preact(depth: int) -> None:
    @register_classifier(f"preact_resnet{depth}")
    def build(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
        return PreActResNet((depth - 2) // 6, (width, 2 * width, 4 * width), num_classes, in_chans, stem=width)


def _register_wrn(depth: int, k: int) -> None:
    @register_classifier(f"wrn{depth}_{k}")
    def build(num_classes: int, in_chans: int, image_size: int, dropout: float = 0.0) -> nn.Module:
        return PreActResNet((depth - 4) // 6, (16 * k, 32 * k, 64 * k), num_classes, in_chans, stem=16, dropout=dropout)


for _depth in (20, 56, 110):
    _register_preact(_depth)
for _depth, _k in ((16, 2), (16, 4), (28, 10)):
    _register_wrn(_depth, _k)
