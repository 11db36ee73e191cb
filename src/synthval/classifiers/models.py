"""Architectures of the zoo, each registering itself by name.

CIFAR-style networks of Shoshan et al. 2023 App. F: ResNet-(6n+2) (He et al. 2016), pre-activation ResNets
with and without squeeze-and-excitation, Wide-ResNets, PyramidNets and Shake-Shake; a small CNN and
an MLP as baselines. Strides suit 8-32 px inputs. timm architectures are in :mod:`.timm_models`,
randomly wired networks in :mod:`.randwire`.
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

    def forward(self, x):
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

    def forward(self, x):
        return self.fc(self.features(x))


def _register_resnet(depth: int) -> None:
    @register_classifier(f"resnet{depth}")
    def build(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
        return CifarResNet(depth, num_classes, in_chans, width)


for _depth in (8, 14, 20, 32, 44, 56, 110):
    _register_resnet(_depth)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): channel gates from globally pooled features through a
    bottleneck of ``channels // reduction``."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.gate(x)


class _PreActBlock(nn.Module):
    """Pre-activation basic block (He et al. 2016b): BN-ReLU-conv, BN-ReLU-(dropout)-conv, optionally
    squeeze-and-excitation on the residual, with a 1x1 projection of the pre-activated input when the
    shape changes."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float = 0.0, se_reduction: int = 0):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.se = SqueezeExcite(cout, se_reduction) if se_reduction else nn.Identity()
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = torch.relu(self.bn1(x))
        skip = self.shortcut(h) if self.shortcut is not None else x
        return skip + self.se(self.conv2(self.drop(torch.relu(self.bn2(self.conv1(h))))))


class PreActResNet(nn.Module):
    """Three stages of ``n`` pre-activation blocks at ``widths``: pre-activation ResNet-(6n+2) and
    Wide-ResNet-(6n+4)-k (Zagoruyko & Komodakis 2016), both in Shoshan et al. 2023 App. F."""

    def __init__(
        self,
        n: int,
        widths: tuple[int, int, int],
        num_classes: int,
        in_chans: int,
        stem: int = 16,
        dropout: float = 0.0,
        se_reduction: int = 0,
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_chans, stem, 3, 1, 1, bias=False)]
        cin = stem
        for stage, cout in enumerate(widths):
            for i in range(n):
                layers.append(_PreActBlock(cin, cout, 2 if stage > 0 and i == 0 else 1, dropout, se_reduction))
                cin = cout
        self.features = nn.Sequential(
            *layers, nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def _register_preact(depth: int) -> None:
    @register_classifier(f"preact_resnet{depth}")
    def build(num_classes: int, in_chans: int, image_size: int, width: int = 16) -> nn.Module:
        return PreActResNet((depth - 2) // 6, (width, 2 * width, 4 * width), num_classes, in_chans, stem=width)


def _register_se_preact(depth: int) -> None:
    @register_classifier(f"se_preact_resnet{depth}")
    def build(num_classes: int, in_chans: int, image_size: int, width: int = 16, reduction: int = 16) -> nn.Module:
        """SE-ResNet-preact (Shoshan et al. 2023 App. F: depth 110, reduction 16)."""
        return PreActResNet(
            (depth - 2) // 6, (width, 2 * width, 4 * width), num_classes, in_chans, stem=width, se_reduction=reduction
        )


def _register_wrn(depth: int, k: int) -> None:
    @register_classifier(f"wrn{depth}_{k}")
    def build(num_classes: int, in_chans: int, image_size: int, dropout: float = 0.0) -> nn.Module:
        return PreActResNet((depth - 4) // 6, (16 * k, 32 * k, 64 * k), num_classes, in_chans, stem=16, dropout=dropout)


for _depth in (20, 56, 110):
    _register_preact(_depth)
    _register_se_preact(_depth)
for _depth, _k in ((16, 2), (16, 4), (28, 10)):
    _register_wrn(_depth, _k)


class _PyramidBlock(nn.Module):
    """PyramidNet basic block (Han et al. 2017): BN-conv-BN-ReLU-conv-BN; the shortcut average-pools
    when the block downsamples and zero-pads the channels the block adds."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.pool = nn.AvgPool2d(2, ceil_mode=True) if stride != 1 else nn.Identity()
        self.extra = cout - cin

    def forward(self, x):
        skip = self.pool(x)
        if self.extra:
            skip = torch.nn.functional.pad(skip, (0, 0, 0, 0, 0, self.extra))
        return self.body(x) + skip


class PyramidNet(nn.Module):
    """PyramidNet-(6n+2) with basic blocks: the width grows additively by ``alpha`` over all 3n
    blocks, from 16 to 16 + alpha (Shoshan et al. 2023 App. F: depth 110, alpha 84 and 270)."""

    def __init__(self, depth: int, alpha: int, num_classes: int, in_chans: int, stem: int = 16):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"PyramidNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        layers: list[nn.Module] = [nn.Conv2d(in_chans, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem)]
        cin = stem
        for block in range(3 * n):
            cout = stem + round(alpha * (block + 1) / (3 * n))
            layers.append(_PyramidBlock(cin, cout, 2 if block in (n, 2 * n) else 1))
            cin = cout
        self.features = nn.Sequential(
            *layers, nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def _register_pyramidnet(depth: int, alpha: int) -> None:
    @register_classifier(f"pyramidnet{depth}_{alpha}")
    def build(num_classes: int, in_chans: int, image_size: int) -> nn.Module:
        return PyramidNet(depth, alpha, num_classes, in_chans)


for _depth, _alpha in ((20, 48), (110, 84), (110, 270)):
    _register_pyramidnet(_depth, _alpha)


class _Shake(torch.autograd.Function):
    """Shake-Shake mixing (Gastaldi 2017): ``alpha * a + (1 - alpha) * b`` forward, gradients mixed
    with an independent ``beta`` backward."""

    @staticmethod
    def forward(ctx, a, b, alpha, beta):
        ctx.save_for_backward(beta)
        return alpha * a + (1 - alpha) * b

    @staticmethod
    def backward(ctx, grad):
        (beta,) = ctx.saved_tensors
        return beta * grad, (1 - beta) * grad, None, None


class _ShakeBlock(nn.Module):
    """Two residual branches (ReLU-conv-BN-ReLU-conv-BN) mixed by Shake-Shake while training and
    averaged in evaluation; S-S-I: a coefficient per image, shaken forward and backward. The
    downsampling shortcut concatenates two 1x1 convolutions of the input, one shifted by a pixel."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()

        def branch() -> nn.Sequential:
            return nn.Sequential(
                nn.ReLU(),
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
            )

        self.a, self.b = branch(), branch()
        self.stride = stride
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.path1 = nn.Conv2d(cin, cout // 2, 1, bias=False)
            self.path2 = nn.Conv2d(cin, cout - cout // 2, 1, bias=False)
            self.shortcut = nn.BatchNorm2d(cout)

    def _skip(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            return x
        x = torch.relu(x)
        shifted = torch.nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        pool = torch.nn.functional.avg_pool2d
        return self.shortcut(
            torch.cat([self.path1(pool(x, 1, self.stride)), self.path2(pool(shifted, 1, self.stride))], 1)
        )

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        if self.training:
            alpha = torch.rand(len(x), 1, 1, 1, device=x.device, dtype=a.dtype)
            beta = torch.rand(len(x), 1, 1, 1, device=x.device, dtype=a.dtype)
            mixed = _Shake.apply(a, b, alpha, beta)
        else:
            mixed = 0.5 * (a + b)
        return mixed + self._skip(x)


class ShakeShake(nn.Module):
    """Shake-Shake-(6n+2) 2x``width``d (Gastaldi 2017; Shoshan et al. 2023 App. F: depth 26, 32d and 64d, S-S-I)."""

    def __init__(self, depth: int, width: int, num_classes: int, in_chans: int):
        super().__init__()
        n = (depth - 2) // 6
        layers: list[nn.Module] = [nn.Conv2d(in_chans, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16)]
        cin = 16
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                layers.append(_ShakeBlock(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*layers, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def _register_shake_shake(width: int) -> None:
    @register_classifier(f"shake_shake26_{width}d")
    def build(num_classes: int, in_chans: int, image_size: int) -> nn.Module:
        return ShakeShake(26, width, num_classes, in_chans)


for _width in (32, 64):
    _register_shake_shake(_width)
