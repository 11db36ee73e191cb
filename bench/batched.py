"""Seeds of one configuration trained batched on one device (``synthval.classifiers.batched.fit_batched``)
against the same members trained one after another with ``fit``, in the same process: models trained
per second and the ratio. The same script runs on a GPU, where the batched members share one device.

    python bench/batched.py [--seeds 4] [--threads 1] [--epochs 2] [--images 1000] [--size 16] \
        [--out bench/results/batched.md]

Both sides start from the same initial weights and do the same work per member (data order,
augmentation, optimiser), so the ratio is what batching saves in compute alone; process start-up, which
a separate job per member also pays, is not counted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.classifiers.batched import fit_batched
from synthval.runtime import device, setup

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine, training_parser

ARCHS = ["mlp", "cnn", "resnet8", "rwnn"]


def main() -> None:
    parser = training_parser(__doc__, ARCHS)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    setup(args.threads, seed=0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, args.size, args.size, 1), dtype=np.uint8)
    labels = (np.arange(args.images) % 10).astype(np.int64)
    rows = []
    for arch in args.archs:
        hparams = {"graph_seed": 0} if arch == "rwnn" else {}
        settings = [
            TrainSettings(epochs=args.epochs, save_epochs=[args.epochs], seed=s, batch_size=args.batch_size)
            for s in range(args.seeds)
        ]
        alone = [create_classifier(arch, 10, 1, args.size, seed=s, **hparams) for s in range(args.seeds)]
        batched = [create_classifier(arch, 10, 1, args.size, seed=s, **hparams) for s in range(args.seeds)]
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            for model, s in zip(alone, settings, strict=True):
                fit(model, images, labels, s, Path(tmp) / str(s.seed))
        separate = time.perf_counter() - t0
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            fit_batched(batched, images, labels, settings, tmp)
        if device().type == "cuda":
            torch.cuda.synchronize()
        together = time.perf_counter() - t0
        diff = max(
            float((a - b).abs().max())
            for ma, mb in zip(alone, batched, strict=True)
            for a, b in zip(ma.state_dict().values(), mb.state_dict().values(), strict=True)
            if a.is_floating_point()
        )
        rows.append((arch, args.seeds / separate, args.seeds / together, separate / together, diff))
        print(
            f"{arch}: separate {rows[-1][1]:.2f} models/s, batched {rows[-1][2]:.2f} models/s, {rows[-1][3]:.2f}x",
            file=sys.stderr,
            flush=True,
        )
    emit(
        f"{machine(args.threads)}; torch {torch.__version__}; {args.seeds} seeds per architecture, {args.images} "
        f"grey {args.size}x{args.size} images, batch {args.batch_size}, {args.epochs} epochs per model (start-up "
        f"costs inside the timing).",
        ["architecture", "separate (models/s)", "batched (models/s)", "batched / separate", "max weight difference"],
        [(a, f"{b:.3f}", f"{c:.3f}", f"{d:.2f}", f"{e:.1e}") for a, b, c, d, e in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
