"""The GPU check: every accelerator path, its throughput and its agreement with the CPU on the same inputs,
in one table. Run it through ``bench/gpu_check.sh`` (which first installs carried wheels, if any).

    python bench/gpu_check.py [--cpu] [--threads N] [--out bench/results/gpu_check.md]

Paths (each on the accelerator, then the same inputs on the CPU for the agreement column):

- ``predict``: zoo inference (bf16 autocast on CUDA), images/s; agreement: largest difference of a
  softmax probability.
- ``fit``: one epoch of zoo training (bf16 autocast, channels-last), images/s; agreement: the epoch's
  mean loss, relative difference.
- ``fit_batched``: 4 seeds batched on one device (vmap) against the 4 trained one after another, models/s
  and their ratio; agreement: largest weight difference between the two (both on the accelerator).
- ``ddp``: the same epoch as one rank of a torch.distributed job (NCCL on CUDA), images/s; agreement:
  largest weight difference from the plain epoch (both on the accelerator).
- ``ddpm train`` / ``ddpm sample``: generator training steps/s and DDIM sampling images/s; agreement:
  largest pixel difference of samples drawn from the same initial noise on both devices.
- ``features`` / ``FID``: reference-extractor features, images/s; agreement: the FID between two sets from
  each device's features, relative difference.
- ``resnet50 fit (224 px)``: ImageNet's ResNet-50 trained on 224 px images, images/s and ms per image (the
  second of two epochs): the measured cost ``bench/imagenet_estimate.py --resnet50-ms`` takes.

``--cpu`` runs every path on the CPU at small sizes (the agreement is then CPU against CPU): what CI runs,
so the script is known to work the day a GPU is lent. Tolerances are stated per row: bf16 autocast on
CUDA rounds activations to 8 bits of mantissa, so agreement there is looser than float32's.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine

from synthval.classifiers import TrainSettings, create_classifier, fit, save_classifier
from synthval.classifiers.batched import fit_batched
from synthval.evaluation.predict import predict_logits
from synthval.runtime import device, setup


@contextlib.contextmanager
def on_cpu():
    """Every synthval device choice made inside goes to the CPU (synthval.runtime.device)."""
    before = os.environ.get("SYNTHVAL_DEVICE")
    os.environ["SYNTHVAL_DEVICE"] = "cpu"
    try:
        yield
    finally:
        if before is None:
            del os.environ["SYNTHVAL_DEVICE"]
        else:
            os.environ["SYNTHVAL_DEVICE"] = before


def timed(function):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def max_weight_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return max(float((x.float().cpu() - y.float().cpu()).abs().max()) for x, y in pairs if x.is_floating_point())


def check_classifiers(images, labels, size, epochs, rows, loose):
    settings = TrainSettings(epochs=epochs, save_epochs=[epochs], seed=0, batch_size=128)
    model = create_classifier("resnet8", 10, 3, size, seed=0).to(device())
    logits, seconds = timed(lambda: predict_logits(model, images))
    with on_cpu():
        reference = predict_logits(create_classifier("resnet8", 10, 3, size, seed=0), images)
    gap = float(np.abs(torch.softmax(torch.as_tensor(logits), 1) - torch.softmax(torch.as_tensor(reference), 1)).max())
    rows.append(
        (
            "predict",
            f"{len(images) / seconds:.0f} images/s",
            f"{gap:.1e}",
            f"<= {2e-2 if loose else 1e-5:g}",
            gap <= (2e-2 if loose else 1e-5),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        (history, _), seconds = timed(
            lambda: fit(create_classifier("resnet8", 10, 3, size, seed=0), images, labels, settings, Path(tmp) / "a")
        )
        with on_cpu():
            cpu_history, _ = fit(
                create_classifier("resnet8", 10, 3, size, seed=0), images, labels, settings, Path(tmp) / "b"
            )
        rel = abs(history[0]["loss"] - cpu_history[0]["loss"]) / cpu_history[0]["loss"]
        rows.append(("fit", f"{epochs * len(images) / seconds:.0f} images/s", f"{rel:.1e}", "<= 5e-2", rel <= 5e-2))
        seeds = [TrainSettings(epochs=epochs, save_epochs=[epochs], seed=s, batch_size=128) for s in range(4)]
        alone = [create_classifier("resnet8", 10, 3, size, seed=s) for s in range(4)]
        batched = [create_classifier("resnet8", 10, 3, size, seed=s) for s in range(4)]
        _, separate = timed(
            lambda: [fit(m, images, labels, s, Path(tmp) / f"s{s.seed}") for m, s in zip(alone, seeds, strict=True)]
        )
        _, together = timed(lambda: fit_batched(batched, images, labels, seeds, Path(tmp) / "batched"))
        diff = max(max_weight_difference(a, b) for a, b in zip(alone, batched, strict=True))
        bound = 5e-2 if loose else 1e-4
        rows.append(
            (
                "fit_batched",
                f"{4 / together:.2f} models/s ({separate / together:.2f}x separate)",
                f"{diff:.1e}",
                f"<= {bound:g}",
                diff <= bound,
            )
        )
        rows.append(check_ddp(images, labels, settings, size, tmp, loose))


def check_ddp(images, labels, settings, size, tmp, loose):
    import torch.distributed as dist

    plain = create_classifier("resnet8", 10, 3, size, seed=0)
    fit(plain, images, labels, settings, Path(tmp) / "plain")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, init_method=f"file://{tmp}/rendezvous", rank=0, world_size=1)
    try:
        ranked = create_classifier("resnet8", 10, 3, size, seed=0)
        _, seconds = timed(lambda: fit(ranked, images, labels, settings, Path(tmp) / "ranked"))
    finally:
        dist.destroy_process_group()
    diff = max_weight_difference(plain, ranked)
    bound = 1e-3 if loose else 1e-6
    return (
        "ddp (1 rank)",
        f"{settings.epochs * len(images) / seconds:.0f} images/s",
        f"{diff:.1e}",
        f"<= {bound:g}",
        diff <= bound,
    )


def check_ddpm(images, labels, steps, samples, rows, loose):
    if importlib.util.find_spec("diffusers") is None:
        rows.append(("ddpm", "skipped: diffusers is not installed (carry its wheel)", "", "", True))
        return
    from synthval.config import split_generator_settings
    from synthval.generators import create_generator, train_generator

    arch, train = split_generator_settings("ddpm", {"block_channels": [32, 32, 64], "sampling_steps": 20})
    size = images.shape[1]
    model = create_generator("ddpm", 10, 3, size, **arch)
    with tempfile.TemporaryDirectory() as tmp:
        _, seconds = timed(
            lambda: train_generator(
                model.to(device()),
                images,
                labels,
                iterations=steps,
                batch_size=64,
                seed=0,
                resume_path=Path(tmp) / "s",
                checkpoint_every=10**9,
                **train,
            )
        )
    rows.append(("ddpm train", f"{steps / seconds:.1f} steps/s", "", "", True))
    model.eval()
    y = torch.arange(samples) % 10

    @torch.no_grad()
    def draw(dev):
        gen = torch.Generator().manual_seed(0)  # the same initial noise on both devices (DDIM is deterministic)
        return model.to(dev).sample_tensor(y.to(dev), gen).float().cpu()

    drawn, seconds = timed(lambda: draw(device()))
    diff = float((drawn - draw(torch.device("cpu"))).abs().max()) * 127.5  # in 8-bit pixel levels
    bound = 8.0 if loose else 1e-3
    rows.append(
        (
            "ddpm sample (DDIM 20)",
            f"{len(y) / seconds:.0f} images/s",
            f"{diff:.2g} levels",
            f"<= {bound:g}",
            diff <= bound,
        )
    )


def check_features(images, rows, loose):
    from synthval.metrics.extractors import ReferenceExtractor
    from synthval.metrics.frechet import frechet_distance, gaussian_stats

    half = len(images) // 2
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "reference.safetensors"
        save_classifier(weights, create_classifier("resnet8", 10, 3, images.shape[1], seed=0), epoch=1)
        features, seconds = timed(lambda: ReferenceExtractor(weights)(images))
        with on_cpu():
            reference = ReferenceExtractor(weights)(images)
    fid = frechet_distance(*gaussian_stats(features[:half]), *gaussian_stats(features[half:]))
    cpu_fid = frechet_distance(*gaussian_stats(reference[:half]), *gaussian_stats(reference[half:]))
    rel = abs(fid - cpu_fid) / max(cpu_fid, 1e-12)
    bound = 2e-2 if loose else 1e-6
    rows.append(
        (
            "features + FID",
            f"{len(images) / seconds:.0f} images/s",
            f"{rel:.1e} (FID {fid:.3g})",
            f"<= {bound:g}",
            rel <= bound,
        )
    )


def check_imagenet_cost(cpu: bool, rows):
    """What a 224 px ResNet-50 costs per image in training (held images, the job's precision and layout):
    the figure bench/imagenet_estimate.py turns into GPU-hours. One warm-up epoch, one timed."""
    n, batch = (2, 2) if cpu else (2048, 256)  # on the CPU: that the path runs (ResNet-50 is ~12 GFLOP an image)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8), np.arange(n) % 1000
    settings = TrainSettings(epochs=2, save_epochs=[2], seed=0, batch_size=batch, flip=True, crop_padding=28)
    with tempfile.TemporaryDirectory() as tmp:
        history, _ = fit(create_classifier("resnet50", 1000, 3, 224, seed=0), images, labels, settings, Path(tmp))
    seconds = history[-1]["seconds"]
    rows.append(
        ("resnet50 fit (224 px)", f"{n / seconds:.0f} images/s ({seconds / n * 1e3:.2f} ms/image)", "", "", True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="every path on the CPU, small sizes (what CI runs)")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--threads", type=int, help="CPU threads (default 8; 2 with --cpu; the test suite's 1, beside other work)"
    )
    args = parser.parse_args()
    if args.cpu:
        os.environ["SYNTHVAL_DEVICE"] = "cpu"
    threads = args.threads or (2 if args.cpu else 8)
    setup(threads, seed=0)
    n, size, epochs, steps, samples = (128, 16, 1, 3, 10) if args.cpu else (8192, 32, 1, 50, 1024)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    labels = np.arange(n) % 10
    loose = device().type == "cuda"
    rows: list[tuple] = []
    check_classifiers(images, labels, size, epochs, rows, loose)
    check_ddpm(images, labels, steps, samples, rows, loose)
    check_features(images, rows, loose)
    check_imagenet_cost(args.cpu, rows)
    emit(
        f"{machine(threads)}; torch {torch.__version__}; {n} random {size}x{size} RGB images, resnet8, "
        f"batch 128; agreement against the CPU on the same inputs{' (CPU only: --cpu)' if args.cpu else ''}",
        ["path", "throughput", "agreement", "tolerance", "within"],
        [(*row[:4], "yes" if row[4] else "NO") for row in rows],
        args.out,
    )
    if not all(row[4] for row in rows):
        sys.exit("some path disagrees with the CPU beyond its tolerance")


if __name__ == "__main__":
    main()
