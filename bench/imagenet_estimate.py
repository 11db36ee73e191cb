"""GPU-hours of a paper-scale config, from the images each job processes (read from the workflow's own plan:
synthval.plan.study.Study, the zoo's and the study's settings) times a per-image cost.

    python bench/imagenet_estimate.py [--config config/imagenet1k-realfake.yaml] [--resnet50-ms MS] [--out FILE]

Per-image costs, each with where it was measured (none on this project's hardware: no GPU was lent yet;
``bench/gpu_check.sh`` prints the first one measured with this code, to pass as ``--resnet50-ms``):

- ResNet-50 training at 224 px: 8 A100 80GB GPUs (DGX A100) train 16,621 images/s with mixed precision,
  0.48 GPU-ms an image (NVIDIA DeepLearningExamples, PyTorch ResNet50 v1.5 README, "Training performance:
  NVIDIA DGX A100", DALI data loading). Prediction and feature extraction: a third of that (a forward
  pass of the three a training step makes).
- Stable Diffusion 1.5 at 512 px: 1.178 s an image for 30 UniPC steps with classifier-free guidance, bf16
  and SDPA, batch 1, on one A100 80GB (the diffusers maintainers' benchmark, sayakpaul/sample-datasets
  collated_results_sdv15.csv): 19.6 ms a UNet pass. Sampling from the latent prior runs strength x steps
  denoising steps, two passes each; LoRA fine-tuning one forward and backward pass an image (3 passes).
  Batch 1 is the slowest way to sample, so synthesis here is an upper bound.

The plan's images are exact; the costs are other people's measurements on their code, so the result is
an order of magnitude to book a cluster by, not a promise.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).parent))
from report import emit

from synthval.config import num_classes, validate_config
from synthval.plan.study import Study
from synthval.zoo import member_spec, training_spec
from synthval.zoo import members as zoo_members

RESNET50_TRAIN_MS = 8 / 16621 * 1e3  # GPU-ms an image, DGX A100 (see the module's notes)
UNET_PASS_MS = 1178 / (30 * 2)  # a 512 px UNet pass of SD 1.5 on one A100 80GB


def split_size(config: dict, trainset: str, split: str) -> int:
    n = config["data"]["train_sizes"][trainset]
    return n if split == "train" else math.floor(n * (1 - config["data"]["val_fraction"]))


def classifier_images(config: dict, study: Study, trainset: str) -> dict[str, int]:
    """Images passed through a classifier in training: the zoo, the reference, the study's runs."""
    n, zoo = config["data"]["train_sizes"][trainset], config["zoo"]
    members = [m for m in zoo_members(zoo) if m.name not in study.imported_models]
    zoo_images = sum(
        member_spec(zoo, m, config["seed"])["train"]["epochs"] * split_size(config, trainset, m.split) for m in members
    )
    reference = config["reference"]["epochs"] * n
    arch = config["training"]["architecture"]
    study_images = 0
    for run in study.runs.values():
        epochs = training_spec(zoo, arch, config["seed"], epochs=run.epochs)["train"]["epochs"]
        if run.data == "real":
            per_epoch = n
        elif run.data == "synthetic":
            per_epoch = n * run.scale
        elif run.data == "real+synthetic":
            per_epoch = round(n * (1 + run.ratio))
        else:  # synthetic>real: pretraining on the synthetic set, then the real split
            per_epoch = n
            study_images += (run.pretrain_epochs or 0) * n * run.scale * len(study.training_seeds)
        study_images += epochs * per_epoch * len(study.training_seeds)
    return {"zoo": zoo_images, "reference": reference, "study": study_images}


def generator_images(config: dict, study: Study, trainset: str) -> dict[str, float]:
    """Stable Diffusion work in UNet passes: fine-tuning (3 an image) and sampling (2 a step)."""
    classes, n = num_classes(config), config["data"]["train_sizes"][trainset]
    fine_tune = sample = 0.0
    for name in study.sampled:
        section = config["generators"][name]
        if section["family"] != "stable_diffusion":
            raise SystemExit(f"{name}: only stable_diffusion generators have a cost here")
        fine_tune += 3 * section["iterations"] * section["batch_size"]
        steps = section["sampling_steps"] * (section["strength"] if section.get("latent_prior") else 1.0)
        images = config["synthesis"]["per_class"] * classes  # the synthetic validation set
        if name in study.study_generators:
            images += n * max(r.scale for r in study.runs.values() if r.generator == name)
        sample += 2 * int(steps) * images
    return {"fine_tune": fine_tune, "sample": sample}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "imagenet1k-realfake.yaml")
    parser.add_argument("--resnet50-ms", type=float, default=RESNET50_TRAIN_MS, help="GPU-ms a training image")
    parser.add_argument("--unet-ms", type=float, default=UNET_PASS_MS, help="GPU-ms a 512 px UNet pass")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = validate_config(yaml.safe_load(args.config.read_text()))
    study = Study.from_config(config)
    rows, total = [], 0.0
    for trainset in study.trainsets:
        work = classifier_images(config, study, trainset)
        sd = generator_images(config, study, trainset)
        # every member on every synthetic validation set (the test split, 50,000 here, is left out)
        predicted = (
            len(study.all_models) * len(study.generators) * config["synthesis"]["per_class"] * num_classes(config)
        )
        lines = [
            ("zoo training", work["zoo"], "images", args.resnet50_ms),
            ("reference training", work["reference"], "images", args.resnet50_ms),
            ("study runs' training", work["study"], "images", args.resnet50_ms),
            ("prediction (zoo on the synthetic sets)", predicted, "images", args.resnet50_ms / 3),
            ("Stable Diffusion LoRA fine-tuning", sd["fine_tune"], "UNet passes", args.unet_ms),
            ("Stable Diffusion sampling", sd["sample"], "UNet passes", args.unet_ms),
        ]
        for what, count, unit, ms in lines:
            hours = count * ms / 1e3 / 3600
            total += hours
            rows.append((trainset, what, f"{count:,.0f} {unit}", f"{ms:.3g}", f"{hours:,.0f}"))
    rows.append(("", "total", "", "", f"{total:,.0f}"))
    emit(
        f"{args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config}: GPU-hours (A100 80GB "
        "equivalents) from the plan's images and the per-image costs in bench/imagenet_estimate.py's notes",
        ["training set", "work", "amount", "GPU-ms each", "GPU-hours"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
