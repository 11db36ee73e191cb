"""Class-conditional DDPM (Ho et al. 2020) with classifier-free guidance (Ho & Salimans 2022), built
on diffusers: a ``UNet2DModel`` with a class embedding, trained with the epsilon objective under a
``DDPMScheduler``, sampled with DDIM (Song et al. 2021) or DPM-Solver++ (Lu et al. 2022) in a
configurable number of steps. Shoshan et al. 2023 §4.3 compares a diffusion model (DiT) at several guidance
scales; Sehwag et al. 2022 finds diffusion data more useful than GAN data.

Guidance follows the diffusers convention: ``eps = eps_uncond + s * (eps_cond - eps_uncond)``, so
``s = 1`` is plain conditional sampling (one network pass per step) and ``s > 1`` sharpens the class.
Training drops the label to a learnt "null" class (index ``num_classes``) with probability
``cond_drop`` so the same network gives both terms.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from synthval.families import ddpm_shape_problems
from synthval.generators.base import Batch, FamilyTrainer, Generator, register

SAMPLERS = {"ddim": "DDIMScheduler", "dpm_solver": "DPMSolverMultistepScheduler"}


def _diffusers() -> Any:
    """diffusers, imported on first use: it takes seconds, and jobs of other families never need it."""
    import diffusers

    return diffusers


class DDPMTrainer(FamilyTrainer):
    model: DDPM

    def __init__(
        self,
        model: DDPM,
        device: torch.device,
        gen: torch.Generator,
        lr: float = 2e-4,
        cond_drop: float = 0.1,
        grad_clip: float = 1.0,
    ):
        super().__init__(model, device, gen)
        self.cond_drop, self.grad_clip = cond_drop, grad_clip
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        self.noise_scheduler = model.training_scheduler()

    def step(self, batch: Batch) -> dict[str, float]:
        x0, y = batch()
        n = len(y)
        noise = self.noise(*x0.shape)
        t = torch.randint(self.noise_scheduler.config.num_train_timesteps, (n,), generator=self.gen).to(self.device)
        drop = self.uniform(n) < self.cond_drop
        y = torch.where(drop, torch.full_like(y, self.model.null_class), y)
        x0, noise, t, y = self.mine(x0, noise, t, y)
        pred = self.model.unet(self.noise_scheduler.add_noise(x0, noise, t), t, class_labels=y).sample
        loss = F.mse_loss(pred, noise)
        self.opt.zero_grad(set_to_none=True)
        self.backward(loss, self.model.parameters())
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.opt.step()
        return {"loss": loss.item(), "grad_norm": norm.item()}

    def state_dict(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state["opt"])


@register("ddpm", DDPMTrainer)
class DDPM(Generator):
    """A diffusers ``UNet2DModel`` with ``num_classes + 1`` class embeddings (the last is "no class").

    ``block_channels`` lists the channels per resolution (each level after the first halves the image,
    so the image size must be divisible by ``2 ** (len(block_channels) - 1)``); ``attention`` adds
    self-attention at the lowest resolution.
    """

    def __init__(
        self,
        num_classes: int,
        in_chans: int,
        image_size: int,
        block_channels: list[int] | tuple[int, ...] = (16, 16, 32),
        layers_per_block: int = 1,
        attention: bool = False,
        norm_groups: int = 4,
        train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        sampler: str = "ddim",
        sampling_steps: int = 20,
        guidance_scale: float = 1.5,
    ):
        block_channels = [int(c) for c in block_channels]
        super().__init__(
            num_classes,
            in_chans,
            image_size,
            block_channels=block_channels,
            layers_per_block=layers_per_block,
            attention=attention,
            norm_groups=norm_groups,
            train_timesteps=train_timesteps,
            beta_schedule=beta_schedule,
            sampler=sampler,
            sampling_steps=sampling_steps,
            guidance_scale=guidance_scale,
        )
        if problems := ddpm_shape_problems(image_size, block_channels, norm_groups):
            raise ValueError("; ".join(problems))
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown ddpm sampler {sampler!r}; available: {sorted(SAMPLERS)}")
        levels = len(block_channels)
        down = ["DownBlock2D"] * levels
        up = ["UpBlock2D"] * levels
        if attention:
            down[-1], up[0] = "AttnDownBlock2D", "AttnUpBlock2D"
        self.null_class = num_classes
        self.unet = _diffusers().UNet2DModel(
            sample_size=image_size,
            in_channels=in_chans,
            out_channels=in_chans,
            block_out_channels=tuple(block_channels),
            layers_per_block=layers_per_block,
            down_block_types=tuple(down),
            up_block_types=tuple(up),
            norm_num_groups=norm_groups,
            attention_head_dim=min(8, block_channels[-1]),
            num_class_embeds=num_classes + 1,
        )

    def training_scheduler(self) -> Any:
        return _diffusers().DDPMScheduler(
            num_train_timesteps=self.hparams["train_timesteps"],
            beta_schedule=self.hparams["beta_schedule"],
            clip_sample=True,
        )

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        h = self.hparams
        scheduler = getattr(_diffusers(), SAMPLERS[h["sampler"]]).from_config(
            self.training_scheduler().config
        )  # fresh: multistep solvers keep state
        scheduler.set_timesteps(h["sampling_steps"], device=labels.device)
        x = torch.randn(
            len(labels), self.in_chans, self.image_size, self.image_size, generator=generator, device=generator.device
        ).to(labels.device)
        x = x * scheduler.init_noise_sigma
        guided = h["guidance_scale"] != 1.0
        class_labels = torch.cat([labels, torch.full_like(labels, self.null_class)]) if guided else labels
        for t in scheduler.timesteps:
            inp = scheduler.scale_model_input(torch.cat([x, x]) if guided else x, t)
            eps = self.unet(inp, t, class_labels=class_labels).sample.float()
            if guided:
                cond, uncond = eps.chunk(2)
                eps = uncond + h["guidance_scale"] * (cond - uncond)
            x = scheduler.step(eps, t, x, generator=generator).prev_sample
        return x.clamp(-1, 1)
