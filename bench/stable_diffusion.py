"""Stable Diffusion benchmark (Yuan et al. 2024 §3): the cost per image of each option of the stable_diffusion
family, and its sampling loop as a ratio to diffusers' own StableDiffusionPipeline on the same
components, steps, scheduler, guidance and seed, in the same process.

    python bench/stable_diffusion.py [--pipeline DIR] [--threads 1] [--images 16] [--out FILE.md]

Without ``--pipeline`` it builds the tiny randomly initialised pipeline the tests use (32 px), so the
figures measure the code path, not SD 1.5; with a real SD folder (e.g. SD 1.5 at 512 px, on a GPU)
they are the paper-scale cost. Rows: sampling with nothing on (the pretrained pipeline), with the
LoRA, with visual guidance, with the latent prior (strength 0.75 runs 3/4 of the steps), all three;
and a fine-tuning step (batch 8) with the diffusion loss alone, with the MMD term, with visual guidance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from synthval.generators import create_generator, sample_images, train_generator
from synthval.generators.stable_diffusion import NEGATIVE_PROMPT, save_tiny_pipeline
from synthval.runtime import device, setup

sys.path.insert(0, str(Path(__file__).parent))
from report import best_of, emit, machine

CLASSES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", type=Path, default=None, help="a diffusers SD folder (default: a tiny one)")
    parser.add_argument("--resolution", type=int, default=None, help="default: 32 for the tiny pipeline, else 512")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=16, help="images per sampling measurement")
    parser.add_argument("--steps", type=int, default=30, help="sampling steps (Yuan et al. 2024 Tab. 6: 30)")
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    setup(args.threads, seed=0)
    dev = device()
    tmp = tempfile.TemporaryDirectory()
    pipeline = args.pipeline or save_tiny_pipeline(Path(tmp.name) / "pipeline")
    resolution = args.resolution or (32 if args.pipeline is None else 512)
    size = 32
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (200, size, size, 3), dtype=np.uint8)
    real_labels = np.arange(200) % CLASSES
    keys = [f"real-{i}" for i in range(200)]
    labels = np.arange(args.images) % CLASSES
    common = {
        "pipeline": str(pipeline),
        "resolution": resolution,
        "sampling_steps": args.steps,
        "lora_rank": 0,
        "latent_prior": False,
    }

    def build(**hparams):
        torch.manual_seed(0)
        model = create_generator("stable_diffusion", CLASSES, 3, size, **{**common, **hparams}).to(dev)
        if model.latent_prior:
            model.set_prior(real, real_labels, keys)
        if model.visual_guidance:
            model.set_visual_guidance(
                torch.as_tensor(real).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(dev),
                torch.as_tensor(real_labels, device=dev),
                8,
                torch.Generator().manual_seed(0),
            )
        return model.eval()

    rows = []
    plain = build()
    from diffusers import StableDiffusionPipeline

    bare = StableDiffusionPipeline(
        vae=plain.vae,
        text_encoder=plain.text_encoder,
        tokenizer=plain.tokenizer,
        unet=plain.unet,
        scheduler=__import__("diffusers").UniPCMultistepScheduler.from_pretrained(Path(pipeline) / "scheduler"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).to(dev)
    bare.set_progress_bar_config(disable=True)
    prompts = [plain.prompt.format(classname=plain.class_names[c]) for c in labels]

    def diffusers_pipeline() -> None:
        bare(
            prompts,
            negative_prompt=[NEGATIVE_PROMPT] * len(prompts),
            height=resolution,
            width=resolution,
            num_inference_steps=args.steps,
            guidance_scale=2.0,
            generator=torch.Generator(device=dev).manual_seed(0),
            output_type="pt",
        )

    diffusers_pipeline()  # warm-up
    t_bare = best_of(diffusers_pipeline)
    rows.append(("diffusers StableDiffusionPipeline (baseline)", 1000 * t_bare / args.images, "1.00"))
    variants = {
        "sampling: pretrained pipeline": {},
        "sampling: + LoRA (rank 8)": {"lora_rank": 8},
        "sampling: + visual guidance": {"visual_guidance": True},
        "sampling: + latent prior (strength 0.75)": {"latent_prior": True},
        "sampling: LoRA + visual guidance + latent prior": {
            "lora_rank": 8,
            "visual_guidance": True,
            "latent_prior": True,
        },
    }
    for name, hparams in variants.items():
        model = build(**hparams)
        sample_images(model, labels[:2], 0)  # warm-up
        t = best_of(lambda model=model: sample_images(model, labels, 0, batch_size=args.images))
        rows.append((name, 1000 * t / args.images, f"{t / t_bare:.2f}"))
        print(f"{name}: {1000 * t / args.images:.1f} ms/image", file=sys.stderr, flush=True)
    training = {
        "fine-tuning step: diffusion loss (LoRA 8)": ({"lora_rank": 8}, {"mmd_weight": 0.0}),
        "fine-tuning step: + MMD (eq. 7)": ({"lora_rank": 8}, {"mmd_weight": 0.003}),
        "fine-tuning step: + MMD + visual guidance": ({"lora_rank": 8, "visual_guidance": True}, {"mmd_weight": 0.003}),
    }
    for name, (hparams, settings) in training.items():
        torch.manual_seed(0)
        model = create_generator("stable_diffusion", CLASSES, 3, size, **{**common, **hparams})
        with tempfile.TemporaryDirectory() as work:
            t0 = time.perf_counter()
            train_generator(
                model,
                real,
                real_labels,
                iterations=args.train_steps,
                batch_size=8,
                seed=0,
                resume_path=Path(work) / "state.safetensors",
                checkpoint_every=10**9,
                visual_samples=8,
                **settings,
            )
            t = (time.perf_counter() - t0) / args.train_steps
        rows.append((name + " [per step of 8]", 1000 * t, "-"))
        print(f"{name}: {1000 * t:.1f} ms/step", file=sys.stderr, flush=True)
    emit(
        f"{machine(args.threads)}; torch {torch.__version__}; pipeline "
        f"{'tiny random (32 px)' if args.pipeline is None else args.pipeline} at {resolution} px; {args.steps} UniPC "
        f"steps, guidance 2.0; {args.images} images per measurement (best of 3), output {size} px; fine-tuning "
        f"{args.train_steps} steps of batch 8 (start-up included)",
        ["option", "ms per image (per step for fine-tuning)", "ratio to diffusers' pipeline"],
        [(name, f"{ms:.1f}", ratio) for name, ms, ratio in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
