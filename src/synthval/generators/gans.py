"""Two class-conditional GANs on one generator network:

- ``wgan_gp``: WGAN-GP (Gulrajani et al. 2017), the weak baseline of Shoshan et al. 2023 App. G. The critic has
  no normalisation (the gradient penalty is per sample) and is conditioned by projection; Adam with
  beta1 = 0, beta2 = 0.9, 5 critic steps per generator step and penalty weight 10 (the paper's Alg. 1).
- ``sngan``: the stronger GAN of the SNGAN/BigGAN line (Miyato et al. 2018; Miyato & Koyama 2018;
  Brock et al. 2019): a residual discriminator with spectral normalisation on every layer, a projection
  head for the class, and the hinge loss; 2 discriminator steps per generator step, Adam(0, 0.9).

The generator is a DCGAN-style upsampling stack (two 2x upsamplings, so the image size must be a
multiple of 4) with the class embedding concatenated to the latent.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from synthval.generators.base import Batch, FamilyTrainer, Generator, register


class ConvGenerator(Generator):
    """Generator network of both GANs; ``width`` sets the channel count, ``latent_dim`` the noise size."""

    def __init__(self, num_classes: int, in_chans: int, image_size: int, latent_dim: int = 64, width: int = 16):
        super().__init__(num_classes, in_chans, image_size, latent_dim=latent_dim, width=width)
        if image_size % 4:
            raise ValueError(f"{self.family or 'this generator'} needs an image size divisible by 4, got {image_size}")
        self.base = image_size // 4
        self.embed = nn.Embedding(num_classes, latent_dim)
        self.project = nn.Sequential(
            nn.Linear(2 * latent_dim, 4 * width * self.base**2), nn.BatchNorm1d(4 * width * self.base**2), nn.ReLU()
        )
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

    def latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.hparams["latent_dim"], generator=generator, device=generator.device)

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self(self.latent(len(labels), generator).to(labels.device), labels)


class _Projection(nn.Module):
    """``linear(h) + <embed(y), h>``: the projection discriminator's output (Miyato & Koyama 2018)."""

    def __init__(self, num_classes: int, dim: int, sn: bool):
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.linear = wrap(nn.Linear(dim, 1))
        self.embed = wrap(nn.Embedding(num_classes, dim))

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)


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
        self.head = _Projection(num_classes, 4 * width, sn=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).sum(dim=(2, 3)), y)


class _SNBlock(nn.Module):
    """Residual discriminator block (SNGAN's ResNet D): two SN convolutions, optional 2x average-pool
    downsampling, and a 1x1 SN shortcut; the first block applies no activation to its input."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = spectral_norm(nn.Conv2d(cin, cout, 3, 1, 1))
        self.conv2 = spectral_norm(nn.Conv2d(cout, cout, 3, 1, 1))
        self.skip = spectral_norm(nn.Conv2d(cin, cout, 1)) if (cin != cout or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        s = x
        if self.first:  # pool before the shortcut conv on raw pixels (SNGAN's optimized block)
            s = F.avg_pool2d(s, 2) if self.down else s
            s = self.skip(s) if self.skip is not None else s
        else:
            s = self.skip(s) if self.skip is not None else s
            s = F.avg_pool2d(s, 2) if self.down else s
        return (F.avg_pool2d(h, 2) if self.down else h) + s


class _SNDiscriminator(nn.Module):
    def __init__(self, num_classes: int, in_chans: int, width: int):
        super().__init__()
        self.body = nn.Sequential(
            _SNBlock(in_chans, width, down=True, first=True),
            _SNBlock(width, 2 * width, down=True, first=False),
            _SNBlock(2 * width, 2 * width, down=False, first=False),
        )
        self.head = _Projection(num_classes, 2 * width, sn=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.body(x)).sum(dim=(2, 3)), y)


class _GANTrainer(FamilyTrainer):
    """The alternating loop shared by both GANs: ``n_critic`` critic steps, then one generator step."""

    model: ConvGenerator

    def __init__(
        self,
        model: ConvGenerator,
        device: torch.device,
        gen: torch.Generator,
        critic: nn.Module,
        lr: float,
        n_critic: int,
        betas: tuple[float, float],
    ):
        super().__init__(model, device, gen)
        self.critic = critic.to(device)
        self.n_critic = n_critic
        self.opt_g = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=lr, betas=betas)

    def critic_draws(self, n: int) -> list[torch.Tensor]:
        """The randomness a critic step draws per image of a batch of ``n``, besides the latents."""
        return []

    def critic_loss(
        self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor, *draws: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def step(self, batch: Batch) -> dict[str, float]:
        for _ in range(self.n_critic):
            real, y = batch()
            z = self.model.latent(len(y), self.gen).to(self.device)
            real, y, z, *draws = self.mine(real, y, z, *self.critic_draws(len(y)))
            with torch.no_grad():
                fake = self.model(z, y)
            loss_d, logged = self.critic_loss(real, fake, y, *draws)
            self.opt_d.zero_grad(set_to_none=True)
            self.backward(loss_d, self.critic.parameters())
            self.opt_d.step()
        _, y = batch()
        y, z = self.mine(y, self.model.latent(len(y), self.gen).to(self.device))
        loss_g = -self.critic(self.model(z, y), y).mean()
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss_g, self.model.parameters())
        self.opt_g.step()
        return {**{k: v.item() for k, v in logged.items()}, "loss_g": loss_g.item()}

    def state_dict(self) -> dict[str, Any]:
        return {"critic": self.critic.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


class WGANGPTrainer(_GANTrainer):
    def __init__(
        self,
        model: ConvGenerator,
        device: torch.device,
        gen: torch.Generator,
        lr: float = 1e-4,
        n_critic: int = 5,
        gp_weight: float = 10.0,
    ):
        super().__init__(
            model,
            device,
            gen,
            _Critic(model.num_classes, model.in_chans, model.hparams["width"]),
            lr,
            n_critic,
            (0.0, 0.9),
        )
        self.gp_weight = gp_weight

    def critic_draws(self, n: int) -> list[torch.Tensor]:
        return [self.uniform(n, 1, 1, 1)]  # where each interpolate lies between its real and fake image

    def critic_loss(self, real, fake, y, alpha):
        mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grad = torch.autograd.grad(self.critic(mix, y).sum(), mix, create_graph=True)[0]
        penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        wdist = self.critic(real, y).mean() - self.critic(fake, y).mean()
        return -wdist + self.gp_weight * penalty, {"wasserstein": wdist, "gradient_penalty": penalty}


class SNGANTrainer(_GANTrainer):
    def __init__(
        self, model: ConvGenerator, device: torch.device, gen: torch.Generator, lr: float = 2e-4, n_critic: int = 2
    ):
        super().__init__(
            model,
            device,
            gen,
            _SNDiscriminator(model.num_classes, model.in_chans, model.hparams["width"]),
            lr,
            n_critic,
            (0.0, 0.9),
        )

    def critic_loss(self, real, fake, y):
        d_real, d_fake = self.critic(real, y), self.critic(fake, y)
        loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        return loss, {"loss_d": loss, "d_real": d_real.mean(), "d_fake": d_fake.mean()}


@register("wgan_gp", WGANGPTrainer)
class WGANGP(ConvGenerator):
    """Generator of the conditional WGAN-GP."""


@register("sngan", SNGANTrainer)
class SNGAN(ConvGenerator):
    """Generator of the conditional hinge-loss GAN with a spectrally normalised projection discriminator."""
