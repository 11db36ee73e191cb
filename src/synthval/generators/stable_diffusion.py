"""A pretrained latent diffusion pipeline (Stable Diffusion, from a local diffusers folder; nothing is
downloaded) as a generator family, with the three parts of Real-Fake's distribution-matching synthesis
(Yuan et al. 2024 §3), each on its own so the seed's ablation (Tab. 2) is a set of config entries:

- **LoRA fine-tuning** on the train split only (``lora_rank`` > 0; Hu et al. 2021, through ``peft``) with
  the diffusion loss and, with ``mmd_weight`` > 0, the distribution-matching term of §3.1, eq. 7.
  Features: the VAE latents, as in the paper (the latent diffusion model's own feature map). Kernel:
  linear, i.e. MMD as the distance between the batch means of the real latents ``z0`` and of the
  predicted clean latents ``z0_hat`` within the same batch. Under the epsilon parameterisation
  ``z0 - z0_hat`` is ``sqrt((1 - a_t) / a_t) (eps_hat - eps)``, so with equal weight per time step the
  term is ``|| mean_batch(eps - eps_hat) ||^2``; by Jensen the plain diffusion loss
  ``mean_batch || eps - eps_hat ||^2`` bounds it from above, which is why adding it tightens the bound.
  A characteristic kernel would match more than the mean but needs batches far larger than fine-tuning
  affords; the linear one is what eq. 7 reduces to.
- **Visual guidance** (§3.2; ``visual_guidance``): a CLIP image embedding takes the place of the prompt's
  last token (a padding token for short prompts), as the authors' code does ("photo of [classname],
  [intra-class visual guidance]"; no BLIP-2 captions). ``per_image``, the authors' code: in fine-tuning
  each image's own embedding, in sampling the embedding of the real image the sample starts from (the
  latent prior's walk), so the token carries what distinguishes images within a class, the reason §3.2
  gives for it. ``per_class``: the mean embedding of ``visual_samples`` real images of each class, the
  same token for every image of the class. Where the image encoder's embedding is as wide as the text
  encoder's tokens (CLIP ViT-L/14 and SD 1.x: 768) it goes in as it is, as in the authors' code; else
  through a linear map learnt with the LoRA.
- **Captions** (§3.2, App. E; ``captions``): a JSON file of each real image's caption by its key (the
  authors use BLIP-2's, for ImageNet only); the prompt's ``{caption}`` takes the caption of the image in
  fine-tuning, and in sampling the caption of the real image the sample starts from.
- **Latent prior** (§3.3; ``latent_prior``): sampling starts, img2img style (Meng et al. 2021), from the
  VAE latent of a real training image of the class noised to ``strength``; which real image seeds which
  sample follows a seeded walk through the class's images and is recorded (:attr:`StableDiffusion.prior_keys`).

Defaults follow App. E: Tab. 6 (30 UniPC steps, guidance 2.0, strength 0.75, the negative prompt
"distorted, unrealistic, blurry, out of frame") and Tab. 7 (LoRA rank 8, learning rate 1e-4). Images are
generated at the pipeline's ``resolution`` and resized to the dataset's size (grey datasets: the mean
of the RGB channels). The weights file holds only what fine-tuning learnt (the LoRA, the projection and
the class embeddings), never the pipeline, which stays at its path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthval.generators.base import Batch, FamilyTrainer, Generator, register, to_unit
from synthval.seeding import derive_seed

log = logging.getLogger("synthval.generators")

SCHEDULERS = {"unipc": "UniPCMultistepScheduler", "ddim": "DDIMScheduler", "dpm_solver": "DPMSolverMultistepScheduler"}
NEGATIVE_PROMPT = "distorted, unrealistic, blurry, out of frame"
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # the UNet's attention projections
# CLIP's image normalisation (every released CLIP image encoder uses it)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _frozen(module: nn.Module) -> nn.Module:
    return module.eval().requires_grad_(False)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class StableDiffusionTrainer(FamilyTrainer):
    """LoRA fine-tuning (with the distribution-matching term of eq. 7 when ``mmd_weight`` > 0) and visual
    guidance: each image's own CLIP embedding (``per_image``), or class embeddings computed once from
    ``visual_samples`` real images per class (``per_class``). ``random_flip``: each image mirrored with
    probability 1/2, as ``train_lora.sh`` runs the authors' script (``--random_flip``).

    As the authors' code trains (``finetune/train_text_to_image_lora.py``, run by ``train_lora.sh``): each
    image's residual is weighted by Min-SNR-gamma, ``min(SNR(t), snr_gamma) / SNR(t)`` (Hang et al. 2023;
    Tab. 7's gamma 5), in both terms; the distribution-matching term is the squared batch *sum* of the
    weighted residuals, per latent element, times ``mmd_weight`` (their 0.003 at 8 images a GPU: about
    0.19 on the squared mean). ``snr_gamma=None, mmd_reduction="mean"`` is eq. 7 as the paper writes it:
    the plain diffusion loss plus ``mmd_weight`` times the squared batch mean."""

    model: StableDiffusion

    def __init__(
        self,
        model: StableDiffusion,
        device: torch.device,
        gen: torch.Generator,
        lr: float = 1e-4,
        mmd_weight: float = 0.0,
        mmd_reduction: str = "sum",
        snr_gamma: float | None = 5.0,
        visual_samples: int = 16,
        random_flip: bool = True,
        grad_clip: float = 1.0,
    ):
        super().__init__(model, device, gen)
        if mmd_reduction not in ("sum", "mean"):
            raise ValueError(f"mmd_reduction {mmd_reduction!r}: sum (the authors' code) or mean (eq. 7 as written)")
        self.mmd_weight, self.grad_clip, self.visual_samples = mmd_weight, grad_clip, visual_samples
        self.mmd_reduction, self.snr_gamma, self.random_flip = mmd_reduction, snr_gamma, random_flip
        self.noise_scheduler = model.noise_scheduler()
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=0.0) if self.params else None

    @property
    def prepare_per_class(self) -> int:
        return self.visual_samples if self.model.visual_guidance == "per_class" else 0

    def prepare(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        if self.model.visual_guidance == "per_class":
            self.model.set_visual_guidance(images, labels, self.visual_samples, self.gen)

    def step(self, batch: Batch) -> dict[str, float]:
        model = self.model
        x, y, *rest = batch(with_keys=True) if model.captions is not None else batch()
        keys, n = (rest[0] if rest else None), len(y)
        if self.random_flip:
            flip = self.uniform(n) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        (x,) = self.mine(x)  # a rank encodes its rows, with its rows of the whole batch's posterior noise
        with torch.no_grad():
            z0 = model.encode(x, lambda *shape: self.mine(self.noise(n, *shape[1:]))[0])
            tokens = model.clip_embeds(x) if model.visual_guidance == "per_image" else None
        noise = self.noise(n, *z0.shape[1:])
        t = torch.randint(self.noise_scheduler.config.num_train_timesteps, (n,), generator=self.gen).to(self.device)
        noise, t, y = self.mine(noise, t, y)
        if keys is not None:  # this rank's rows of the batch's keys
            keys = [keys[i] for i in self.mine(torch.arange(n))[0].tolist()]
        with torch.set_grad_enabled(self.opt is not None):  # nothing to fine-tune: no graph to keep
            eps = model.unet(
                self.noise_scheduler.add_noise(z0, noise, t), t, encoder_hidden_states=model.condition(y, tokens, keys)
            ).sample
        diffusion, mmd = self.losses((noise - eps).float(), t)
        loss = diffusion + self.mmd_weight * mmd
        metrics = {"loss": loss.item(), "diffusion": diffusion.item(), "mmd": mmd.item()}
        if self.opt is None:  # nothing to fine-tune (lora_rank 0, no visual guidance)
            return metrics
        self.opt.zero_grad(set_to_none=True)
        self.backward(loss, self.params)
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.opt.step()
        return {**metrics, "grad_norm": norm.item()}

    def snr_weights(self, t: torch.Tensor) -> torch.Tensor:
        """Min-SNR-gamma weights of timesteps ``t`` for an epsilon-predicting model (ones without gamma)."""
        if self.snr_gamma is None:
            return torch.ones(len(t), device=t.device)
        alpha_bar = self.noise_scheduler.alphas_cumprod.to(t.device)[t].double()
        snr = alpha_bar / (1 - alpha_bar)
        return (snr.clamp(max=self.snr_gamma) / snr).float()

    def losses(self, residual: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The diffusion loss (each image's mean squared residual, Min-SNR weighted, averaged) and the
        distribution-matching term (eq. 7: the squared batch sum or mean of the weighted residuals, per
        latent element). Over ranks each rank's batch, as the authors' multi-GPU code computes it per GPU."""
        w = self.snr_weights(t)
        diffusion = (residual.pow(2).flatten(1).mean(1) * w).mean()
        weighted = residual * w.view(-1, *[1] * (residual.ndim - 1))
        batch = weighted.sum(0) if self.mmd_reduction == "sum" else weighted.mean(0)
        return diffusion, batch.pow(2).mean()

    def state_dict(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict() if self.opt else {}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.opt:
            self.opt.load_state_dict(state["opt"])


def _checked_pipeline(
    pipeline: str, num_classes: int, class_names: list[str] | None, scheduler: str, strength: float
) -> Path:
    """The pipeline folder, once the settings that need no model are checked."""
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}; available: {sorted(SCHEDULERS)}")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names for {num_classes} classes")
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    root = Path(pipeline)
    if not (root / "unet").is_dir():
        raise FileNotFoundError(
            f"no diffusers pipeline at {root} (expected the folders unet, vae, text_encoder, tokenizer and "
            "scheduler, as save_pretrained writes them)"
        )
    return root


def _read_captions(path: str | None, prompt: str) -> dict[str, str] | None:
    """Each real image's caption by its key, from a JSON object (``captions``); checked against the prompt."""
    if path is None:
        if "{caption}" in prompt:
            raise ValueError(f"prompt {prompt!r} has a {{caption}} but no captions file is given")
        return None
    if "{caption}" not in prompt:
        raise ValueError(f"captions {path}: the prompt {prompt!r} has no {{caption}} to put them in")
    try:
        captions = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"captions {path}: cannot read a JSON object of captions by image key ({e})") from None
    if not isinstance(captions, dict) or not all(isinstance(v, str) for v in captions.values()):
        raise ValueError(f"captions {path}: expected a JSON object mapping each image key to its caption")
    return captions


@register("stable_diffusion", StableDiffusionTrainer)
class StableDiffusion(Generator):
    """A local diffusers Stable Diffusion folder (``unet``, ``vae``, ``text_encoder``, ``tokenizer``,
    ``scheduler``; ``image_encoder`` for visual guidance, or the folder ``image_encoder`` names)."""

    # diffusers' and transformers' modules (Any to mypy), and what fine-tuning adds
    unet: Any
    vae: Any
    text_encoder: Any
    image_encoder: Any
    vg_proj: nn.Module
    vg_embeds: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        in_chans: int,
        image_size: int,
        pipeline: str,
        class_names: list[str] | None = None,
        prompt: str = "photo of {classname}",
        negative_prompt: str = NEGATIVE_PROMPT,
        resolution: int = 512,
        scheduler: str = "unipc",
        sampling_steps: int = 30,
        guidance_scale: float = 2.0,
        lora_rank: int = 8,
        visual_guidance: str | bool = False,
        image_encoder: str | None = None,
        latent_prior: bool = True,
        strength: float = 0.75,
        lora_scale: float = 0.5,
        prior_draws: str = "permutation",
        captions: str | None = None,
    ):
        super().__init__(
            num_classes,
            in_chans,
            image_size,
            pipeline=pipeline,
            class_names=class_names,
            prompt=prompt,
            negative_prompt=negative_prompt,
            resolution=resolution,
            scheduler=scheduler,
            sampling_steps=sampling_steps,
            guidance_scale=guidance_scale,
            lora_rank=lora_rank,
            visual_guidance=visual_guidance,
            image_encoder=image_encoder,
            latent_prior=latent_prior,
            strength=strength,
            lora_scale=lora_scale,
            prior_draws=prior_draws,
            captions=captions,
        )
        if visual_guidance is True:  # weights saved before per_image existed: the class token
            visual_guidance = "per_class"
        if visual_guidance not in (False, None, "per_class", "per_image"):
            raise ValueError(f"visual_guidance {visual_guidance!r}: per_image, per_class or false")
        if prior_draws not in ("permutation", "replacement"):
            raise ValueError(f"prior_draws {prior_draws!r}: permutation (the authors' walk) or replacement")
        root = _checked_pipeline(pipeline, num_classes, class_names, scheduler, strength)
        import diffusers
        import transformers

        self.root = root
        self.unet = _frozen(diffusers.UNet2DConditionModel.from_pretrained(root / "unet"))
        self.vae = _frozen(diffusers.AutoencoderKL.from_pretrained(root / "vae"))
        self.text_encoder = _frozen(transformers.CLIPTextModel.from_pretrained(root / "text_encoder"))
        self.tokenizer = transformers.CLIPTokenizer.from_pretrained(root / "tokenizer")
        self.scheduler_config = diffusers.DDPMScheduler.load_config(root / "scheduler")  # read once
        self.class_names = class_names or [str(c) for c in range(num_classes)]
        self.prompt, self.negative_prompt = prompt, negative_prompt
        self.captions = _read_captions(captions, prompt)
        self.resolution, self.steps, self.guidance = resolution, sampling_steps, guidance_scale
        self.latent_prior, self.strength = latent_prior, strength
        self.visual_guidance: str = visual_guidance or ""
        self.scheduler_name = scheduler
        # the LoRA's weight at sampling (fine-tuning runs it at 1): the authors' generate.py passes 0.5 as
        # cross_attention_kwargs={"scale": ...}, diffusers' way of scaling a LoRA
        self.lora_scale = lora_scale if lora_rank > 0 else None
        self.image_encoder_path = Path(image_encoder) if image_encoder else root / "image_encoder"
        self.image_encoder: nn.Module | None = None
        self._add_learnt(lora_rank, self.visual_guidance, num_classes)
        #: keys of the real images that seeded the samples so far, in order (see :meth:`take_prior_keys`)
        self.prior_keys: list[str] = []
        self._prior: tuple[np.ndarray, np.ndarray, list[str]] | None = None
        self.prior_draws = prior_draws
        self._walk: dict[int, np.ndarray] = {}  # each class's seeded order of its real images
        self._start: np.ndarray = np.zeros(num_classes, np.int64)
        self._cursor: np.ndarray = np.zeros(num_classes, np.int64)
        self._prompts: dict[str, torch.Tensor] = {}

    def _add_learnt(self, lora_rank: int, visual_guidance: str, num_classes: int) -> None:
        """What fine-tuning learns: LoRA adapters on the UNet's attention; for visual guidance a map of CLIP
        image embeddings into the prompt's token space where their widths differ, and the per-class
        embeddings (``per_class``)."""
        import transformers

        width = self.unet.config.cross_attention_dim
        if lora_rank > 0:
            from peft import LoraConfig

            self.unet.add_adapter(
                LoraConfig(r=lora_rank, lora_alpha=lora_rank, init_lora_weights="gaussian", target_modules=LORA_TARGETS)
            )
        if visual_guidance:
            embed = transformers.CLIPVisionConfig.from_pretrained(self.image_encoder_path).projection_dim
            # as wide as a token: the embedding itself, as the authors' code puts it in the prompt
            self.vg_proj = nn.Identity() if embed == width else nn.Linear(embed, width)
            if visual_guidance == "per_class":
                self.register_buffer("vg_embeds", torch.zeros(num_classes, embed))

    # --- what is saved: only what fine-tuning learnt

    @staticmethod
    def _learnt(name: str) -> bool:
        return "lora_" in name or name.startswith(("vg_proj.", "vg_embeds"))

    # only what fine-tuning learnt: narrower than Module.state_dict's overloads on purpose
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return {k: v for k, v in super().state_dict(*args, **kwargs).items() if self._learnt(k)}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        own = self.state_dict()
        misfit = sorted(k for k in set(state) & set(own) if state[k].shape != own[k].shape)
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if strict and (missing or extra or misfit):
            raise RuntimeError(
                f"stable_diffusion weights do not fit this pipeline's settings: missing {missing[:2]}, unexpected "
                f"{extra[:2]}, other shapes {misfit[:2]} (fine-tuned with another lora_rank or visual_guidance?)"
            )
        return super().load_state_dict(state, strict=False, assign=assign)

    def train(self, mode: bool = True) -> StableDiffusion:
        super().train(mode)
        for frozen in (self.vae, self.text_encoder, self.image_encoder):
            if frozen is not None:
                frozen.eval()  # frozen parts never train (dropout off)
        return self

    # --- conditioning

    def _embed(self, text: str) -> torch.Tensor:
        if text not in self._prompts:
            ids = self.tokenizer(
                [text],
                padding="max_length",
                max_length=self.tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids
            with torch.no_grad():
                self._prompts[text] = self.text_encoder(ids.to(self.unet.device))[0][0]
        return self._prompts[text].to(self.unet.device)

    def prompts(self, labels: torch.Tensor, keys: list[str] | None = None) -> list[str]:
        """Each label's prompt; with captions, the caption of the real image ``keys`` names in its place."""
        names = [self.class_names[int(c)] for c in labels.tolist()]
        if self.captions is None:
            return [self.prompt.format(classname=name) for name in names]
        if keys is None:
            raise ValueError("captions need the key of each image the prompts are for")
        if missing := [k for k in keys if k not in self.captions]:
            raise ValueError(
                f"captions {self.hparams['captions']}: no caption for {len(missing)} images, e.g. {missing[0]}"
            )
        return [self.prompt.format(classname=n, caption=self.captions[k]) for n, k in zip(names, keys, strict=True)]

    def condition(
        self, labels: torch.Tensor, embeds: torch.Tensor | None = None, keys: list[str] | None = None
    ) -> torch.Tensor:
        """Cross-attention states of each label's prompt (with its image's caption, ``keys``), its last
        token replaced by the visual-guidance token: the CLIP image embeddings ``embeds`` (one per label;
        ``per_image``), or the class's mean."""
        text = torch.stack([self._embed(p) for p in self.prompts(labels, keys)])
        if not self.visual_guidance:
            return text
        if self.visual_guidance == "per_class":
            embeds = self.vg_embeds[labels]
        elif embeds is None:
            raise ValueError("per_image visual guidance needs each image's CLIP embedding")
        return torch.cat([text[:, :-1], self.vg_proj(embeds)[:, None, :].to(text.dtype)], dim=1)

    def uncondition(self, n: int) -> torch.Tensor:
        """The negative prompt, the other term of classifier-free guidance (as the pipeline encodes it)."""
        return self._embed(self.negative_prompt)[None].expand(n, -1, -1)

    @torch.no_grad()
    def clip_embeds(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP image embeddings (``image_embeds``) of images in [-1, 1], NCHW, at the encoder's size and
        normalisation; the encoder is read once, frozen."""
        if self.image_encoder is None:
            import transformers

            self.image_encoder = _frozen(
                transformers.CLIPVisionModelWithProjection.from_pretrained(self.image_encoder_path)
            ).to(images.device)
        size = self.image_encoder.config.image_size
        mean = torch.tensor(CLIP_MEAN, device=images.device)[:, None, None]
        std = torch.tensor(CLIP_STD, device=images.device)[:, None, None]
        x = (_resize(self._rgb(images), size) + 1) / 2
        return self.image_encoder(pixel_values=((x - mean) / std).to(self.image_encoder.dtype)).image_embeds

    @torch.no_grad()
    def set_visual_guidance(
        self, images: torch.Tensor, labels: torch.Tensor, per_class: int, gen: torch.Generator
    ) -> None:
        """The mean CLIP image embedding of ``per_class`` randomly drawn real images of each class (§3.2);
        ``images`` in [-1, 1], NCHW."""
        for c in range(self.num_classes):
            members = torch.nonzero(labels == c).flatten().cpu()
            if len(members) == 0:
                raise ValueError(f"visual guidance: no training image of class {c}")
            pick = members[torch.randperm(len(members), generator=gen)[:per_class]]
            self.vg_embeds[c] = self.clip_embeds(images[pick.to(images.device)]).mean(0)

    # --- latents

    def _rgb(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def encode(self, x: torch.Tensor, noise: Any) -> torch.Tensor:
        """VAE latents of images in [-1, 1] (dataset size), drawn from the posterior with ``noise(*shape)``."""
        x = _resize(self._rgb(x), self.resolution).to(self.vae.dtype)
        dist = self.vae.encode(x).latent_dist
        return (dist.mean + dist.std * noise(*dist.mean.shape).to(dist.mean.dtype)) * self.vae.config.scaling_factor

    def noise_scheduler(self) -> Any:
        import diffusers

        return diffusers.DDPMScheduler.from_config(self.scheduler_config)

    def set_prior(
        self, images: np.ndarray, labels: np.ndarray, keys: list[str], seed: int = 0, start: np.ndarray | None = None
    ) -> None:
        """The real training images (uint8 NHWC) whose latents start the samples (``latent_prior``).

        ``prior_draws="permutation"`` (the authors' generate.py walks the real set in order, one sample per
        real image per pass): class ``c``'s samples take its real images in one seeded order (``seed``),
        the ``j``-th sample of the class the ``j % n_c``-th image, so a set of ``k n_c`` samples starts
        from every real image of the class exactly ``k`` times (``k`` or ``k + 1`` when ``k`` is
        fractional). ``start``: each class's first position in that walk, for a shard of a set whose
        earlier shards took the positions before. ``replacement``: each sample draws its real image
        uniformly from its class with the sampling generator."""
        labels = np.asarray(labels)
        self._prior = (images, labels, list(keys))
        members = {c: np.flatnonzero(labels == c) for c in range(self.num_classes)}
        rng = np.random.default_rng(derive_seed(seed, "latent prior walk"))
        self._walk = {c: m[rng.permutation(len(m))] for c, m in members.items()}
        self._start = np.zeros(self.num_classes, np.int64) if start is None else np.asarray(start, np.int64)
        self.rewind()

    @property
    def uses_real_images(self) -> bool:
        """Whether sampling reads real training images (:meth:`set_prior`): for the latent prior, or for
        the per-image visual-guidance token or the caption of the real image each sample is paired with."""
        return self.latent_prior or self.visual_guidance == "per_image" or self.captions is not None

    def rewind(self) -> None:
        """Back to the first sample of the latent prior's walk (each class at its ``start``)."""
        self._cursor = self._start.copy()

    def _prior_pick(self, c: int, generator: torch.Generator) -> int:
        """The position of the real image that starts the next sample of class ``c``."""
        members = self._walk[c]
        if len(members) == 0:
            raise ValueError(f"latent prior: no training image of class {c}")
        if self.prior_draws == "replacement":
            draw = torch.randint(len(members), (1,), generator=generator, device=generator.device)
            return int(np.sort(members)[int(draw.item())])
        self._cursor[c] += 1
        return int(members[(self._cursor[c] - 1) % len(members)])

    def take_prior_keys(self) -> list[str]:
        """The keys of the real images that seeded each sample since the last call, in sample order."""
        keys, self.prior_keys = self.prior_keys, []
        return keys

    # --- sampling

    @torch.no_grad()
    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        import diffusers

        device = self.unet.device
        n = len(labels)
        scheduler = getattr(diffusers, SCHEDULERS[self.scheduler_name]).from_config(self.scheduler_config)
        scheduler.set_timesteps(self.steps, device=device)
        timesteps = scheduler.timesteps
        shape = (n, self.unet.config.in_channels, self.resolution // 8, self.resolution // 8)

        def noise(*size: int) -> torch.Tensor:
            return torch.randn(*size, generator=generator, device=generator.device).to(device)

        embeds, sources = None, None
        if self.uses_real_images:
            if self._prior is None:
                raise ValueError(
                    "latent_prior and per_image visual guidance need the real training images: call set_prior first"
                )
            images, _, keys = self._prior
            picks = [self._prior_pick(c, generator) for c in labels.tolist()]
            sources = [keys[i] for i in picks]
            self.prior_keys += sources
            real = to_unit(images[picks]).to(device)
            if self.visual_guidance == "per_image":  # the token of the real image the sample starts from
                embeds = self.clip_embeds(real)
        if self.latent_prior:
            z0 = self.encode(real, noise)
            start = min(round(self.steps * (1 - self.strength)), self.steps - 1)
            timesteps = timesteps[start * scheduler.order :]
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(start * scheduler.order)
            latents = scheduler.add_noise(z0, noise(*z0.shape), timesteps[:1].repeat(n))
        else:
            latents = noise(*shape) * scheduler.init_noise_sigma
        cond, uncond = self.condition(labels, embeds, sources), self.uncondition(n)
        guided = self.guidance != 1.0
        for t in timesteps:
            z = scheduler.scale_model_input(torch.cat([latents, latents]) if guided else latents, t)
            states = torch.cat([uncond, cond]) if guided else cond
            kwargs = {"cross_attention_kwargs": {"scale": self.lora_scale}} if self.lora_scale is not None else {}
            eps = self.unet(z, t, encoder_hidden_states=states, **kwargs).sample
            if guided:
                eps_u, eps_c = eps.chunk(2)
                eps = eps_u + self.guidance * (eps_c - eps_u)
            latents = scheduler.step(eps, t, latents).prev_sample
        x = self.vae.decode(latents / self.vae.config.scaling_factor).sample.float().clamp(-1, 1)
        x = _resize(x, self.image_size)
        return x.mean(1, keepdim=True) if self.in_chans == 1 else x


def save_tiny_pipeline(folder: str | Path, seed: int = 0, resolution: int = 32) -> Path:
    """A tiny randomly initialised Stable Diffusion folder (UNet2DConditionModel, AutoencoderKL, a CLIP
    text encoder with a byte-level tokenizer of 514 tokens, a CLIP image encoder, the SD 1.x noise
    schedule), built offline in about a second: it has the structure of the real one, so it exercises
    every code path (fine-tuning, visual guidance, latent prior, synthesis) on a CPU in tests and dry
    runs. Its images are noise."""
    import diffusers
    import transformers

    root = Path(folder)
    torch.manual_seed(seed)
    width = 32
    diffusers.UNet2DConditionModel(
        sample_size=resolution // 8,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=width,
        attention_head_dim=4,
        norm_num_groups=8,
    ).save_pretrained(root / "unet")
    diffusers.AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        latent_channels=4,
        norm_num_groups=8,
        sample_size=resolution,
        layers_per_block=1,
    ).save_pretrained(root / "vae")
    diffusers.DDPMScheduler(  # SD 1.5's scheduler settings (the pipelines insist on steps_offset 1)
        num_train_timesteps=1000,
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        clip_sample=False,
    ).save_pretrained(root / "scheduler")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in _byte_chars():
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    transformers.CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77).save_pretrained(root / "tokenizer")
    common = {"hidden_size": width, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            vocab_size=len(vocab), max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1, **common
        )
    ).save_pretrained(root / "text_encoder")
    transformers.CLIPVisionModelWithProjection(
        transformers.CLIPVisionConfig(image_size=resolution, patch_size=8, projection_dim=width, **common)
    ).save_pretrained(root / "image_encoder")
    return root


def _byte_chars() -> list[str]:
    """The 256 characters byte-level BPE (GPT-2, CLIP) maps bytes to."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(len(others))]
