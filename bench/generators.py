"""Generator benchmark: synthesis throughput of the synthesize_shard code path as a ratio to a bare
forward loop over the same model in the same process, and training step time per family.

    python bench/generators.py [--threads 1] [--images 2000] [--steps 20] [--out bench/results/generators.md]

The synthesis path is what the rule runs: ``sample_images`` (seeded batches, bf16 autocast on CUDA,
uint8 conversion) and then ``write_shard`` (PNG encoding, zstd Parquet with page checksums). The bare
loop calls the network's ``sample_tensor`` under ``torch.no_grad`` and nothing else. Ratios near 1 mean
the pipeline adds little to the network's own cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from synthval.config import split_generator_settings
from synthval.data import write_shard
from synthval.generators import create_generator, sample_images, train_generator
from synthval.runtime import device, setup

sys.path.insert(0, str(Path(__file__).parent))
from report import best_of, emit, machine

# The embedded default's sizes (16x16 grey digits, 10 classes); see config/config.yaml.
FAMILIES = {
    "wgan_gp": {"width": 16, "latent_dim": 64, "n_critic": 5},
    "sngan": {"width": 16, "latent_dim": 64, "n_critic": 2},
    "ddpm": {"block_channels": [16, 16, 32], "sampling_steps": 20, "guidance_scale": 1.5},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=2000, help="images synthesized per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20, help="training steps timed per family")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    setup(args.threads, seed=0)
    dev = device()
    size, classes = 16, 10
    labels = np.arange(args.images) % classes
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (1000, size, size, 1), dtype=np.uint8)
    real_labels = np.arange(1000) % classes
    rows = []
    for family, settings in FAMILIES.items():
        arch, train = split_generator_settings(family, settings)
        torch.manual_seed(0)
        model = create_generator(family, classes, 1, size, **arch).to(dev).eval()

        @torch.no_grad()
        def bare() -> None:
            gen = torch.Generator(device=dev).manual_seed(0)
            for start in range(0, args.images, args.batch_size):
                y = torch.as_tensor(labels[start : start + args.batch_size], device=dev)
                model.sample_tensor(y, gen)

        def sample() -> None:
            sample_images(model, labels, 0, args.batch_size)

        with tempfile.TemporaryDirectory() as tmp:
            keys = [f"k{i:06d}" for i in range(args.images)]

            def rule_path() -> None:
                write_shard(
                    Path(tmp) / "shard.parquet",
                    keys,
                    sample_images(model, labels, 0, args.batch_size),
                    labels,
                    source="synthetic",
                    generator=family,
                    seed=0,
                )

            bare()  # warm-up
            t_bare, t_sample, t_rule = best_of(bare), best_of(sample), best_of(rule_path)
            torch.manual_seed(0)
            trainee = create_generator(family, classes, 1, size, **arch)
            resume = Path(tmp) / "state.safetensors"
            t0 = time.perf_counter()
            train_generator(
                trainee,
                real,
                real_labels,
                iterations=args.steps,
                batch_size=64,
                seed=0,
                resume_path=resume,
                checkpoint_every=10**9,
                **train,
            )
            t_train = (time.perf_counter() - t0) / args.steps
        rows.append(
            (
                family,
                args.images / t_bare,
                args.images / t_sample,
                args.images / t_rule,
                t_bare / t_sample,
                t_bare / t_rule,
                1000 * t_train,
            )
        )
        print(
            f"{family}: bare {args.images / t_bare:.0f} img/s, sample_images {t_bare / t_sample:.3f}x, rule path "
            f"{t_bare / t_rule:.3f}x, train {1000 * t_train:.1f} ms/step",
            file=sys.stderr,
            flush=True,
        )
    emit(
        f"{machine(args.threads)}; torch {torch.__version__}; {size}x{size} grey images, {classes} classes, batch "
        f"{args.batch_size}; {args.images} images per synthesis measurement (best of 3); training batch 64, "
        f"{args.steps} steps.",
        [
            "family",
            "bare forward (img/s)",
            "sample_images (img/s)",
            "rule path incl. Parquet (img/s)",
            "sample_images / bare",
            "rule path / bare",
            "train step (ms)",
        ],
        [(f, f"{a:.0f}", f"{b:.0f}", f"{c:.0f}", f"{d:.3f}", f"{e:.3f}", f"{g:.1f}") for f, a, b, c, d, e, g in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
