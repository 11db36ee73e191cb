"""Classifier trainer benchmark: throughput of ``synthval.classifiers.fit`` as a ratio to a bare
PyTorch loop over the same model, data and batch size in the same process, and images/s per
architecture.

    python bench/trainer.py [--threads 1] [--epochs 2] [--images 1000] [--size 16] [--out bench/results/trainer.md]

The bare loop holds the split as a float tensor already normalised, shuffles with ``randperm``, and
runs forward, cross-entropy, backward and an SGD step; nothing else. ``fit`` does what the rule runs:
uint8 split on the device, per-step learning rate, batch augmentation (measured with and without
random crops), loss/accuracy bookkeeping, and the resume state saved every epoch.
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.runtime import device, setup

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine, sgd_step, training_parser

ARCHS = [
    "mlp",
    "cnn",
    "resnet8",
    "resnet20",
    "preact_resnet20",
    "wrn16_2",
    "resnext29",
    "timm_resnet18",
    "densenet",
    "mobilenetv3",
    "regnetx",
    "convnext",
    "vit",
    "rwnn",
]


def bare_loop(
    model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int, lr: float
) -> None:
    dev = next(model.parameters()).device
    x_all = torch.as_tensor(images).permute(0, 3, 1, 2).float().div(255).to(dev)
    y_all = torch.as_tensor(labels, device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x_all), device=dev)
        for i in range(0, len(x_all), batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
            sgd_step(opt, loss)
    if dev.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    args = training_parser(__doc__, ARCHS).parse_args()
    setup(args.threads, seed=0)
    dev = device()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 1), dtype=np.uint8)
    labels = (np.arange(args.images) % 10).astype(np.int64)
    rows = []
    for arch in args.archs:
        torch.manual_seed(0)
        model = create_classifier(arch, 10, 1, args.size, **({"graph_seed": 0} if arch == "rwnn" else {}))
        times = {}
        for name in ("bare", "fit", "fit+crop"):
            trial = copy.deepcopy(model).to(dev)
            with tempfile.TemporaryDirectory() as tmp:
                settings = TrainSettings(
                    epochs=args.epochs,
                    save_epochs=[args.epochs],
                    seed=0,
                    batch_size=args.batch_size,
                    lr=0.05,
                    crop_padding=2 if name == "fit+crop" else 0,
                )
                t0 = time.perf_counter()
                if name == "bare":
                    bare_loop(trial.body, images, labels, args.epochs, args.batch_size, 0.05)
                else:
                    fit(trial, images, labels, settings, tmp)
                times[name] = time.perf_counter() - t0
        n = args.images * args.epochs
        rows.append(
            (
                arch,
                n / times["bare"],
                n / times["fit"],
                n / times["fit+crop"],
                times["bare"] / times["fit"],
                times["bare"] / times["fit+crop"],
            )
        )
        print(
            f"{arch}: bare {rows[-1][1]:.0f} img/s, fit {rows[-1][4]:.3f}x, fit+crop {rows[-1][5]:.3f}x",
            file=sys.stderr,
            flush=True,
        )
    emit(
        f"{machine(args.threads)}; torch {torch.__version__}; {args.images} grey {args.size}x{args.size} images, "
        f"batch {args.batch_size}, {args.epochs} epochs per measurement (the first included, so start-up costs count "
        f"against fit).",
        ["architecture", "bare loop (img/s)", "fit (img/s)", "fit + crop (img/s)", "fit / bare", "fit + crop / bare"],
        [(a, f"{b:.0f}", f"{c:.0f}", f"{d:.0f}", f"{e:.3f}", f"{f:.3f}") for a, b, c, d, e, f in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
