"""What the config and the plan need to know of each generator family, in one place and without torch: its
architecture keys (the constructor's keywords, saved with the weights), the conditionings it takes, whether
it is trained here or imported, whether its prompts name the classes, whether its sampling reads the real
training images, and the checks of its settings the schema cannot make. A new family adds its module in
synthval.generators, one :class:`Family` here and its keys in the schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: What a section's ``conditioning`` may be: labels as they are, one generator per class, unconditional
#: with labels from the reference classifier.
CONDITIONINGS = ("class", "per_class", "pseudo_label")


@dataclass(frozen=True)
class Family:
    """One generator family (the config's ``generators.<name>.family``)."""

    name: str
    architecture: tuple[str, ...] = ()  # constructor keywords, saved with the weights
    conditionings: tuple[str, ...] = CONDITIONINGS
    why_class_only: str = ""  # why it takes ``class`` conditioning only, where it does
    trained: bool = True  # False: samples made elsewhere, imported
    names_classes: bool = False  # its prompts name the classes: its jobs read the data summary's names
    #: what its jobs import beyond torch, preloaded by the run's warm process (synthval.forkserver): a module,
    #: or ``module:Name,Name`` for the names its jobs take from a library that imports them lazily
    libraries: tuple[str, ...] = ()

    def samples_from_real_images(self, section: dict[str, Any]) -> bool:
        """Whether sampling reads the real training images (a generator's ``section`` of the config)."""
        return False

    def problems(self, name: str, section: dict[str, Any], config: dict[str, Any]) -> list[str]:
        """Why ``section`` (generator ``name``) cannot run with ``config``, beyond the schema; empty if it can."""
        if section["conditioning"] not in self.conditionings:
            return [
                f"config key generators.{name}.conditioning: {self.why_class_only}; use "
                f"{' or '.join(self.conditionings)}, not {section['conditioning']}"
            ]
        return []


def ddpm_shape_problems(image_size: int, block_channels: list[int], norm_groups: int) -> list[str]:
    """Why a DDPM UNet of these channels cannot take this image size (empty when it can): its resolution
    levels halve the image, and its group norms split its channels."""
    problems = []
    levels = len(block_channels)
    if image_size % 2 ** (levels - 1):
        problems.append(
            f"ddpm with {levels} resolution levels needs an image size divisible by {2 ** (levels - 1)}, got "
            f"{image_size}"
        )
    if any(c % norm_groups for c in block_channels):
        problems.append(f"ddpm block_channels {list(block_channels)} must be multiples of norm_groups={norm_groups}")
    return problems


@dataclass(frozen=True)
class DDPMFamily(Family):
    def problems(self, name: str, section: dict[str, Any], config: dict[str, Any]) -> list[str]:
        shape = ddpm_shape_problems(config["data"]["image_size"], section["block_channels"], section["norm_groups"])
        return super().problems(name, section, config) + [f"config key generators.{name}: {p}" for p in shape]


@dataclass(frozen=True)
class StableDiffusionFamily(Family):
    def samples_from_real_images(self, section: dict[str, Any]) -> bool:
        """The latent prior, per-image visual guidance and captions each take something of the real image
        that seeds a sample (its latent, its CLIP token or its caption)."""
        return any(
            (section.get("latent_prior"), section.get("visual_guidance") == "per_image", section.get("captions"))
        )


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("wgan_gp", ("latent_dim", "width")),
        Family("sngan", ("latent_dim", "width")),
        DDPMFamily(
            "ddpm",
            (
                "block_channels",
                "layers_per_block",
                "attention",
                "norm_groups",
                "train_timesteps",
                "beta_schedule",
                "sampler",
                "sampling_steps",
                "guidance_scale",
            ),
            libraries=("diffusers:UNet2DModel,DDPMScheduler,DDIMScheduler,DPMSolverMultistepScheduler",),
        ),
        StableDiffusionFamily(
            "stable_diffusion",
            (
                "pipeline",
                "class_names",
                "prompt",
                "negative_prompt",
                "resolution",
                "scheduler",
                "sampling_steps",
                "guidance_scale",
                "lora_rank",
                "visual_guidance",
                "image_encoder",
                "latent_prior",
                "strength",
                "lora_scale",
                "prior_draws",
                "captions",
            ),
            conditionings=("class",),
            why_class_only="stable_diffusion is conditioned by class prompts",
            names_classes=True,
            libraries=(
                "diffusers:UNet2DConditionModel,AutoencoderKL,DDPMScheduler,UniPCMultistepScheduler,DDIMScheduler,"
                "DPMSolverMultistepScheduler",
                "transformers:CLIPTextModel,CLIPTokenizer,CLIPVisionConfig,CLIPVisionModelWithProjection",
                "peft:LoraConfig",
            ),
        ),
        Family(
            "imported",
            conditionings=("class",),
            why_class_only="imported samples carry their labels",
            trained=False,
        ),
    )
}


def checkpoints_scored(settings: dict[str, Any]) -> bool:
    """Whether a generator's checkpoints are scored with the reference classifier (``eval_every`` > 0, in
    its config section or its training settings): its job then reads the reference's weights."""
    return settings["eval_every"] > 0


def family_of(section: dict[str, Any]) -> Family:
    """The family of a generator's config ``section``."""
    return FAMILIES[section["family"]]
