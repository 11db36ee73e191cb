"""Architectures of the zoo, each registering itself by name.

CIFAR-style ResNet-(6n+2) (He et al. 2016, seed 000 App. F) built from torchvision's ``BasicBlock``;
a small CNN and an MLP as baselines. Strides suit 8-32 px inputs.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock

from synthval.classifiers.registry import register_classifier


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
