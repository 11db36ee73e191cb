"""Cost of training with generated data: ``synthval.classifiers.fit`` on real+synthetic batches (ratio
1), alone and with Pretrained Guidance, Real Guidance and PGD training, as a ratio to a bare PyTorch
loop over the same mixed batches in the same process.

    python bench/guidance.py [--threads 1] [--epochs 2] [--images 1000] [--size 16] [--out bench/results/guidance.md]

The bare loop holds both sets as float tensors already normalised, draws half of every batch from each,
and runs forward, cross-entropy, backward and an SGD step. ``fit`` adds what the rule runs (uint8 data
on the device, per-step learning rate, bookkeeping, the resume state every epoch) and, per variant:
PG a no-grad forward of the guide and two N x N distance matrices per step; RG a second forward and
backward (real and synthetic batches separately) and the projection of two flat gradients; PGD its
attack steps, each a forward and backward.
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

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit
from synthval.runtime import device, setup

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine, sgd_step, training_parser


def bare_mixed_loop(
    model: torch.nn.Module, real: np.ndarray, synthetic: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int
) -> None:
    dev = next(model.parameters()).device
    x_real = torch.as_tensor(real).permute(0, 3, 1, 2).float().div(255).to(dev)
    x_syn = torch.as_tensor(synthetic).permute(0, 3, 1, 2).float().div(255).to(dev)
    y = torch.as_tensor(labels, device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    half = batch_size // 2
    model.train()
    for _ in range(epochs):
        order, syn_order = torch.randperm(len(x_real), device=dev), torch.randperm(len(x_syn), device=dev)
        for i in range(0, len(x_real), half):
            idx, sidx = order[i : i + half], syn_order[i : i + half]
            loss = F.cross_entropy(model(torch.cat([x_real[idx], x_syn[sidx]])), torch.cat([y[idx], y[sidx]]))
            sgd_step(opt, loss)
    if dev.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    args = training_parser(__doc__, ["cnn", "resnet20"]).parse_args()
    setup(args.threads, seed=0)
    dev = device()
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (args.images, args.size, args.size, 1), dtype=np.uint8)
    synthetic = rng.integers(0, 256, (args.images, args.size, args.size, 1), dtype=np.uint8)
    labels = (np.arange(args.images) % 10).astype(np.int64)
    guide = create_classifier("cnn", 10, 1, args.size).to(dev)
    variants = {
        "real+synthetic": Guidance(),
        "+ PG": Guidance(guide=guide),
        "+ RG": Guidance(real_guidance=True),
        "+ PG + RG": Guidance(guide=guide, real_guidance=True),
        "+ PGD (7 steps)": Guidance(adversarial={"epsilon": 8 / 255, "step_size": 2 / 255, "steps": 7}),
    }
    rows = []
    for arch in args.archs:
        torch.manual_seed(0)
        model = create_classifier(arch, 10, 1, args.size)
        bare_mixed_loop(
            copy.deepcopy(model).body.to(dev), real, synthetic, labels, 1, args.batch_size
        )  # warm-up: first-call costs
        t0 = time.perf_counter()
        bare_mixed_loop(copy.deepcopy(model).body.to(dev), real, synthetic, labels, args.epochs, args.batch_size)
        bare = time.perf_counter() - t0
        for name, guidance in variants.items():
            with tempfile.TemporaryDirectory() as tmp:
                settings = TrainSettings(
                    epochs=args.epochs, save_epochs=[args.epochs], seed=0, batch_size=args.batch_size, crop_padding=0
                )
                t0 = time.perf_counter()
                fit(
                    copy.deepcopy(model),
                    real,
                    labels,
                    settings,
                    tmp,
                    synthetic=(synthetic, labels),
                    ratio=1.0,
                    guidance=guidance,
                )
                took = time.perf_counter() - t0
            n = 2 * args.images * args.epochs  # images seen: every real image and as many synthetic ones
            rows.append((arch, name, n / bare, n / took, bare / took))
            print(f"{arch} {name}: {rows[-1][3]:.0f} img/s, {rows[-1][4]:.3f}x of bare", file=sys.stderr, flush=True)
    emit(
        f"{machine(args.threads)}; torch {torch.__version__}; {args.images} real and {args.images} synthetic grey "
        f"{args.size}x{args.size} "
        f"images, batch {args.batch_size} (half synthetic), {args.epochs} epochs per measurement, no crop "
        "augmentation; PG's guide: cnn.",
        ["architecture", "variant", "bare mixed loop (img/s)", "fit (img/s)", "fit / bare"],
        [(a, v, f"{b:.0f}", f"{f:.0f}", f"{r:.3f}") for a, v, b, f, r in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
