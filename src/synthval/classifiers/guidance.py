"""Regularisers for training on generated data, Wang et al. 2024 §4 (Wang et al., *Improving the Effectiveness
of Deep Generative Data*), and the adversarial training of Sehwag et al. 2022.

* Pretrained Guidance (§4, eq. 1): a frozen guide network's pairwise feature-distance matrix over a
  batch is matched by the trained network's. The guide may be another architecture: only the N x N
  matrices are compared, never the features themselves.
* Real Guidance (§4, eq. 2): the synthetic batch's gradient is projected so that it is at most
  perpendicular to the real batch's gradient, and the update is ``lambda1 g_r + lambda2 g_f``.
* PGD (Sehwag et al. 2022 §3, Madry et al.): l-infinity projected gradient ascent on the inputs, for adversarial
  training and robust accuracy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DISTANCES = ("cosine", "euclidean")
LOSSES = ("kl", "l1")


def pairwise_distances(features: torch.Tensor, distance: str = "cosine") -> torch.Tensor:
    """The N x N matrix ``D[i, j] = delta(f(i), f(j))`` of eq. 1: cosine distance ``1 - cos`` (in
    [0, 2], the paper's choice) or euclidean distance."""
    features = features.flatten(1).float()
    if distance == "cosine":
        unit = F.normalize(features, dim=1)
        return (1 - unit @ unit.T).clamp_min(0)
    if distance == "euclidean":
        return torch.cdist(features, features)
    raise ValueError(f"unknown distance {distance!r}; use one of {DISTANCES}")


def _affinities(distances: torch.Tensor, distance: str) -> torch.Tensor:
    """Each row of a distance matrix as a distribution over the batch's other samples: the
    probabilistic knowledge transfer of Passalis & Tefas (the paper's footnote 2, "KL-divergence on
    distance matrices as derived in [38]"), with the kernel ``1 - D/2 = (1 + cos)/2`` for cosine
    distance and ``1 / (1 + D)`` for euclidean distance; the diagonal is left out."""
    kernel = 1 - distances / 2 if distance == "cosine" else 1 / (1 + distances)
    kernel = kernel * (1 - torch.eye(len(kernel), device=kernel.device, dtype=kernel.dtype))
    return kernel / kernel.sum(1, keepdim=True).clamp_min(1e-12)


def pretrained_guidance_loss(
    trained: torch.Tensor, guide: torch.Tensor, distance: str = "cosine", loss: str = "kl"
) -> torch.Tensor:
    """L_pg of Wang et al. 2024 §4, eq. 1: how far the trained network's feature geometry over a batch is from
    the guide's. ``trained`` and ``guide`` are N x d_u and N x d_p features of the same N images
    (d_u and d_p may differ). ``kl``: the mean over rows i of KL(P_i || Q_i), P and Q the guide's and
    the trained network's row distributions (see :func:`_affinities`); ``l1``: the mean absolute
    difference of the two distance matrices. The paper sums over i and j; a mean keeps the weight
    lambda3 independent of the batch size. Zero exactly when both matrices agree."""
    if len(trained) != len(guide):
        raise ValueError(f"{len(trained)} trained features against {len(guide)} guide features")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {LOSSES}")
    d_u, d_p = pairwise_distances(trained, distance), pairwise_distances(guide, distance).detach()
    if len(trained) < 2:
        return d_u.sum() * 0  # one image has no pairwise geometry
    if loss == "l1":
        return (d_u - d_p).abs().mean()
    p, q = _affinities(d_p, distance), _affinities(d_u, distance)
    eps = 1e-12
    return (p * ((p + eps).log() - (q + eps).log())).sum(1).mean()


def project_synthetic_gradient(g_synthetic: torch.Tensor, g_real: torch.Tensor) -> torch.Tensor:
    """Eq. 2 of Wang et al. 2024 §4: ``g_f - (g_f . g_r / g_r . g_r) g_r`` when ``g_f . g_r < 0`` (the two
    gradients disagree, so the synthetic one keeps only its part perpendicular to the real one),
    else ``g_f`` unchanged. Flat vectors."""
    dot = torch.dot(g_synthetic, g_real)
    norm = torch.dot(g_real, g_real)
    if dot >= 0 or norm == 0:
        return g_synthetic
    return g_synthetic - (dot / norm) * g_real


def real_guidance_update(
    g_real: torch.Tensor, g_synthetic: torch.Tensor, lambda_real: float = 1.0, lambda_synthetic: float = 1.0
) -> torch.Tensor:
    """``g_update = lambda1 g_r + lambda2 g_f_new`` (Wang et al. 2024 §4, below eq. 2)."""
    return lambda_real * g_real + lambda_synthetic * project_synthetic_gradient(g_synthetic, g_real)


def pgd_attack(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epsilon: float,
    step_size: float,
    steps: int,
    gen: torch.Generator | None = None,
) -> torch.Tensor:
    """l-infinity PGD from a random start in the epsilon-ball: ``steps`` signed-gradient ascent steps
    on the cross-entropy, each projected back onto the ball and onto valid pixels [0, 1]. The model is
    put in eval mode for the attack (batch-norm statistics untouched) and restored after."""
    was_training = model.training
    model.eval()
    noise = torch.rand(x.shape, generator=gen).to(x.device) if gen is not None else torch.rand_like(x)
    adv = (x + (2 * noise - 1) * epsilon).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model(adv), y)
            (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step_size * grad.sign()
        adv = torch.min(torch.max(adv, x - epsilon), x + epsilon).clamp(0, 1)
    model.train(was_training)
    return adv.detach()
