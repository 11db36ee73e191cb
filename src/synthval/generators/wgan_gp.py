"""Class-conditional WGAN-GP (Gulrajani et al. 2017), the baseline generator of seed 000 App. G.

The critic has no batch normalisation (the gradient penalty is per sample) and is conditioned by
projection (Miyato & Koyama 2018); the generator is a DCGAN-style upsampling stack with the class
embedding concatenated to the latent. Adam with beta1 = 0, beta2 = 0.9, 5 critic steps per generator
step and penalty weight 10, as in the paper's Algorithm 1.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthval.checkpoint import ResumeState, rng_state, set_rng_state
from synthval.generators.base import Generator, register, to_unit
from synthval.runtime import Progress, device as pick_device

log = logging.getLogger("synthval.generators.wgan_gp")


class _Critic(nn.Module):
    def __init__(self, num_classes: int, in_chans: int, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_chans, width, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
            nn.LeakyReLU(0.2),
        )
        self.linear = nn.Linear(4 * width, 1)
        self.embed = nn.Embedding(num_classes, 4 * width)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.body(x).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)


def _train(model: "WGANGP", images: np.ndarray, labels: np.ndarray, *, iterations: int, batch_size: int, seed: int,
           resume_path: str | Path, lr: float = 1e-4, n_critic: int = 5, gp_weight: float = 10.0,
           checkpoint_every: int = 200) -> dict:
    dev = pick_device()
    torch.manual_seed(seed)
    critic = _Critic(model.num_classes, model.in_chans, model.hparams["width"]).to(dev)
    model.to(dev).train()
    opt_g = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.0, 0.9))
    data = to_unit(images).to(dev)
    y_all = torch.as_tensor(labels, device=dev)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    fingerprint = {"family": "wgan_gp", "hparams": model.hparams, "iterations": iterations, "batch_size": batch_size, "seed": seed, "lr": lr, "n_critic": n_critic, "gp_weight": gp_weight, "n": len(labels)}
    resume = ResumeState(resume_path, fingerprint)
    history: list[dict] = []
    start = 0
    if (state := resume.load()) is not None:
        model.load_state_dict(state["generator"])
        critic.load_state_dict(state["critic"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        set_rng_state(state["rng"], gen)
        history, start = state["history"], state["step"]
        log.info("resumed from step %d of %d (%s)", start, iterations, resume.path)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(data), (batch_size,), generator=gen).to(dev)
        return data[idx], y_all[idx]

    progress = Progress(log, "wgan-gp step", iterations, start=start)
    for step in range(start, iterations):
        for _ in range(n_critic):
            real, y = batch()
            with torch.no_grad():
                fake = model.sample_tensor(y, gen)
            alpha = torch.rand(batch_size, 1, 1, 1, generator=gen).to(dev)
            mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            grad = torch.autograd.grad(critic(mix, y).sum(), mix, create_graph=True)[0]
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            wdist = critic(real, y).mean() - critic(fake, y).mean()
            loss_d = -wdist + gp_weight * penalty
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        _, y = batch()
        loss_g = -critic(model.sample_tensor(y, gen), y).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if (step + 1) % 50 == 0 or step + 1 == iterations:
            history.append({"step": step + 1, "wasserstein": wdist.item(), "gradient_penalty": penalty.item(), "loss_g": loss_g.item()})
        progress.update(step + 1, f"W={wdist.item():.3f} gp={penalty.item():.3f}")
        if (step + 1) % checkpoint_every == 0 and step + 1 < iterations:
            resume.save({"generator": model.state_dict(), "critic": critic.state_dict(), "opt_g": opt_g.state_dict(),
                         "opt_d": opt_d.state_dict(), "rng": rng_state(gen), "history": history, "step": step + 1})
    model.eval()
    resume.clear()
    return {"history": history, "chosen_step": iterations, "selection": "last step"}


@register("wgan_gp", _train)
class WGANGP(Generator):
    """Generator network of the conditional WGAN-GP; ``width`` sets the channel count."""

    def __init__(self, num_classes: int, in_chans: int, image_size: int, latent_dim: int = 64, width: int = 64):
        super().__init__(num_classes, in_chans, image_size, latent_dim=latent_dim, width=width)
        if image_size % 4:
            raise ValueError(f"wgan_gp needs an image size divisible by 4, got {image_size}")
        self.base = image_size // 4
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Sequential(nn.Linear(2 * latent_dim, 4 * width * self.base**2), nn.BatchNorm1d(4 * width * self.base**2), nn.ReLU())
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(4 * width, 2 * width, 3, 1, 1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * width, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, in_chans, 3, 1, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z, self.embed(y)], dim=1))
        return self.body(h.view(len(z), -1, self.base, self.base))

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(len(labels), self.hparams["latent_dim"], generator=generator, device=generator.device)
        return self(z.to(labels.device), labels)
