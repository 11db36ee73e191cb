"""ARC (Sehwag et al. 2022, "Limitation of FID" and Fig. 7): how well real and synthetic data can be told apart
when every point is blown up into an epsilon-ball.

A plain real-vs-synthetic classifier separates every generator perfectly, so Sehwag et al. 2022 asks a
classifier to classify whole l2 epsilon-balls around the points correctly: the closer the two sets,
the sooner the balls of the two classes intersect and the success drops to chance. Classifying balls
is adversarially robust classification, so for each epsilon a small MLP on the features is trained
with l2 PGD (Madry et al. 2018) at radius epsilon, and its success is its robust accuracy on held-out
points (balanced, so chance is 0.5). The curve is success against epsilon, and ARC is the area under
the curve of the success above chance, ``2 * accuracy - 1``, over epsilon in [0, eps_max], divided by
eps_max: 0 when no ball can be told apart, 1 when every ball can up to eps_max. Lower is closer.

Epsilons are in units of the real set's radius R = sqrt(mean |x - mean|^2), so ARC does not depend on
the feature scale. Cost: epsilons x steps x (pgd_steps + 1) MLP passes over a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class ARC:
    epsilons: np.ndarray  # in units of the real set's radius
    accuracy: np.ndarray  # robust real-vs-synthetic accuracy at each epsilon (held-out points)
    area: float  # ARC


def _pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int) -> torch.Tensor:
    """l2 PGD: the point of each ball around ``x`` that the model classifies worst (from the centre)."""
    if eps == 0:
        return x
    delta = torch.zeros_like(x, requires_grad=True)
    step = 2.5 * eps / steps
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        (grad,) = torch.autograd.grad(loss_fn(model(x + delta).squeeze(1), y), delta)
        with torch.no_grad():
            delta += step * grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            delta *= (eps / delta.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(max=1)
    return (x + delta).detach()


def robust_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int) -> float:
    model.eval()
    adv = _pgd(model, x, y, eps, steps)
    with torch.no_grad():
        return float(((model(adv).squeeze(1) > 0).float() == y).float().mean())


def arc(
    real: np.ndarray,
    fake: np.ndarray,
    eps_max: float = 0.5,
    num_eps: int = 6,
    steps: int = 150,
    pgd_steps: int = 5,
    hidden: int = 128,
    batch_size: int = 256,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> ARC:
    """ARC of ``fake`` against ``real`` features (see the module docstring)."""
    gen = np.random.default_rng(seed)
    n = min(len(real), len(fake))
    if n < 4:
        raise ValueError(f"ARC needs at least 4 points per set, got {len(real)} and {len(fake)}")
    real = np.asarray(real, np.float64)[gen.choice(len(real), n, replace=False)]
    fake = np.asarray(fake, np.float64)[gen.choice(len(fake), n, replace=False)]
    centre = real.mean(0)
    radius = np.sqrt(((real - centre) ** 2).sum(1).mean()) or 1.0
    x = torch.as_tensor(np.concatenate([real, fake]) - centre, dtype=torch.float32) / float(radius)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    order = torch.as_tensor(gen.permutation(2 * n))
    n_test = max(2, round(test_fraction * 2 * n))
    test, train = order[:n_test], order[n_test:]
    epsilons = np.linspace(0, eps_max, num_eps)
    accuracy = []
    for k, eps in enumerate(epsilons):
        torch.manual_seed(seed + k)
        model = nn.Sequential(
            nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        batch_gen = torch.Generator().manual_seed(seed + k)
        for _ in range(steps):
            idx = train[torch.randint(len(train), (min(batch_size, len(train)),), generator=batch_gen)]
            model.eval()  # the attack sees the model as it is evaluated
            adv = _pgd(model, x[idx], y[idx], float(eps), pgd_steps)
            model.train()
            loss = loss_fn(model(adv).squeeze(1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        accuracy.append(robust_accuracy(model, x[test], y[test], float(eps), 2 * pgd_steps))
    accuracies = np.array(accuracy)
    above_chance = (2 * accuracies - 1).clip(0, 1)
    area = float(np.trapezoid(above_chance, epsilons) / eps_max) if num_eps > 1 else float(above_chance[0])
    return ARC(epsilons, accuracies, area)
