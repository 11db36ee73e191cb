"""The classifier trainer: the split lives on the device as one uint8 tensor, augmentation is done on
whole batches, SGD with momentum and a per-step cosine or multistep schedule. The full state is saved
each epoch outside the declared outputs, so a killed job resumes where it stopped."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from synthval.checkpoint import ResumeState, rng_state, set_rng_state
from synthval.classifiers.guidance import pgd_attack, pretrained_guidance_loss, real_guidance_update
from synthval.classifiers.registry import Classifier, save_classifier
from synthval.live import LiveLog
from synthval.runtime import Progress
from synthval.runtime import device as pick_device
from synthval.schema import defaults

log = logging.getLogger("synthval.classifiers")

_ZOO = defaults("zoo")


@dataclass
class TrainSettings:
    """How to train a classifier. Defaults: the config schema's ``zoo`` section (synthval.schema)."""

    epochs: int
    save_epochs: list[int]
    seed: int
    batch_size: int = _ZOO["batch_size"]
    optimizer: str = _ZOO["optimizer"]  # sgd or adamw
    lr: float = _ZOO["lr"]
    momentum: float = _ZOO["momentum"]
    weight_decay: float = _ZOO["weight_decay"]
    label_smoothing: float = _ZOO["label_smoothing"]
    crop_padding: int = _ZOO["crop_padding"]
    flip: bool = _ZOO["flip"]
    schedule: str = _ZOO["schedule"]  # cosine or multistep
    milestones: list[float] = field(default_factory=lambda: list(_ZOO["milestones"]))  # fractions of training
    gamma: float = _ZOO["gamma"]
    warmup_epochs: float = _ZOO["warmup_epochs"]
    extra: dict = field(default_factory=dict)  # recorded in the fingerprint and weights metadata

    def __post_init__(self) -> None:
        bad = [e for e in self.save_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"save_epochs {bad} outside 1..{self.epochs}")
        if self.schedule not in ("cosine", "multistep"):
            raise ValueError(f"unknown schedule {self.schedule!r}; use cosine or multistep")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; use sgd or adamw")

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate at optimiser step ``step`` of ``total``: timm's ``CosineLRScheduler`` (to 0) or
        ``MultiStepLRScheduler`` (x ``gamma`` from each milestone, a fraction of training, on), stepped
        per update, with their linear warm-up from 0 over the first ``warmup_epochs`` (tested to give
        timm's value at every step). timm itself is not imported here: it costs a job 2.6 s."""
        warmup = round(self.warmup_epochs / self.epochs * total)
        if step < warmup:
            return step * (self.lr / warmup)
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * step / total))
        return self.lr * self.gamma ** sum(step >= m * total for m in self.milestones)


def augment(batch: torch.Tensor, padding: int, flip: bool, gen: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding) and optional horizontal flip of a uint8 NCHW batch, all at once.
    The crop is one ``gather`` of each image's window from the padded batch (4x faster on CPU than
    advanced indexing at 32 px)."""
    n, c, h, w = batch.shape
    if padding:
        padded = F.pad(batch, (padding,) * 4)
        row = w + 2 * padding
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen).to(batch.device)
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen).to(batch.device)
        window = (
            torch.arange(h, device=batch.device)[:, None] * row + torch.arange(w, device=batch.device)[None, :]
        ).view(1, -1)
        index = (window + (dy * row + dx)[:, None])[:, None, :].expand(n, c, h * w)
        batch = padded.view(n, c, -1).gather(2, index).view(n, c, h, w)
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).to(batch.device)
        batch = torch.where(mask[:, None, None, None], batch.flip(3), batch)
    return batch


def make_optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """SGD with nesterov momentum, or AdamW; biases and norm parameters are not decayed: timm's
    ``create_optimizer_v2(model, "sgd" | "adamw", ...)`` with its default weight-decay filter."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=settings.lr)
    return torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum, nesterov=True)


@dataclass
class Guidance:
    """How generated data enters a training run beside the real data (seed 001 §4, seed 002 §3).

    ``guide``: Pretrained Guidance's frozen network (eq. 1), applied with weight ``pg_weight``
    (lambda3 of eq. 3) to the parts of each batch named in ``pg_on`` (``synthetic``: PG-F of seed 001
    Table 4, ``real``: PG-R). ``real_guidance``: the projected update of eq. 2 with ``lambda_real`` and
    ``lambda_synthetic``. ``adversarial``: PGD training (``epsilon``, ``step_size``, ``steps``, l-inf
    in [0, 1] pixels), seed 002's robust setting.
    """

    guide: Classifier | None = None
    pg_weight: float = 1.0
    pg_distance: str = "cosine"
    pg_loss: str = "kl"
    pg_on: tuple[str, ...] = ("synthetic",)
    real_guidance: bool = False
    lambda_real: float = 1.0
    lambda_synthetic: float = 1.0
    adversarial: dict | None = None

    def fingerprint(self) -> dict:
        """The settings as plain data (the guide by its architecture) for the resume state's fingerprint."""
        settings = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "guide"}
        return settings | {"pg_on": list(self.pg_on), "guide": None if self.guide is None else self.guide.arch}


def batch_split(batch_size: int, ratio: float) -> tuple[int, int]:
    """Real and synthetic images per batch for a synthetic-to-real ratio (0: all real; 1: half each)."""
    if ratio < 0:
        raise ValueError(f"synthetic-to-real ratio {ratio} is negative")
    real = max(1, round(batch_size / (1 + ratio)))
    return real, batch_size - real


class _Stream:
    """An endless shuffled stream over ``n`` images (a fresh permutation each pass), with its own RNG."""

    def __init__(self, n: int, seed: int):
        self.n, self.gen = n, torch.Generator().manual_seed(seed)
        self.order, self.pos = torch.randperm(n, generator=self.gen), 0

    def take(self, k: int) -> torch.Tensor:
        parts = []
        while k > 0:
            if self.pos == self.n:
                self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0
            part = self.order[self.pos : self.pos + k]
            self.pos += len(part)
            k -= len(part)
            parts.append(part)
        return torch.cat(parts)

    def state(self) -> dict:
        return {"gen": self.gen.get_state(), "order": self.order, "pos": torch.tensor(self.pos)}

    def restore(self, state: dict) -> None:
        self.gen.set_state(state["gen"])
        self.order, self.pos = state["order"], int(state["pos"])


def _flat_grad(loss: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    """The gradient of ``loss`` with respect to ``params`` as one flat float32 vector (zeros for a
    parameter the loss does not reach)."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat(
        [(torch.zeros_like(p) if g is None else g).flatten().float() for p, g in zip(params, grads, strict=True)]
    )


def fit(
    model: Classifier,
    images: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    work_dir: str | Path,
    *,
    source: str = "real",
    synthetic: tuple[np.ndarray, np.ndarray] | None = None,
    ratio: float = 0.0,
    guidance: Guidance | None = None,
    normalise: bool = True,
) -> tuple[list[dict], dict[int, Path]]:
    """Train ``model`` on uint8 NHWC ``images``; return the per-epoch history and the weights file of
    every epoch in ``settings.save_epochs`` (written into ``work_dir``, where the resume state lives).

    ``source`` says what ``images`` are (``real`` or ``synthetic``: Pretrained Guidance's ``pg_on``
    refers to it). With ``synthetic`` images and a ``ratio`` > 0, every batch also holds synthetic
    images (:func:`batch_split`), drawn from an endless stream with its own seed; an epoch is one pass
    over ``images``. With ratio 0 no synthetic image is drawn and training is exactly real-only
    training. ``normalise=False`` keeps the model's input normalisation (a second training stage).
    """
    dev = pick_device()
    work_dir = Path(work_dir)
    guidance = guidance or Guidance()
    torch.manual_seed(settings.seed)
    data = torch.as_tensor(images).permute(0, 3, 1, 2).contiguous().to(dev)  # uint8 NCHW, decoded once
    targets = torch.as_tensor(labels, dtype=torch.long, device=dev)
    mixed = synthetic is not None and ratio > 0
    b_real, b_syn = batch_split(settings.batch_size, ratio if mixed else 0.0)
    if mixed:
        syn_data = torch.as_tensor(synthetic[0]).permute(0, 3, 1, 2).contiguous().to(dev)
        syn_targets = torch.as_tensor(synthetic[1], dtype=torch.long, device=dev)
        stream = _Stream(len(syn_data), settings.seed + 1)
    if guidance.real_guidance and not mixed:
        raise ValueError(
            "Real Guidance needs real and synthetic images in every batch (synthetic images and a ratio > 0)"
        )
    model.to(dev)
    if guidance.guide is not None:
        guidance.guide.to(dev).eval().requires_grad_(False)
    if dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
    if normalise:
        model.set_normalisation(data.float().div(255))
    opt = make_optimizer(model, settings)
    params = [p for p in model.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(settings.seed)
    steps_per_epoch = math.ceil(len(data) / b_real)
    total = settings.epochs * steps_per_epoch
    fingerprint = {**asdict(settings), "n": len(data), "arch": model.arch, "config": model.config}
    if mixed or guidance != Guidance():
        fingerprint |= {
            "source": source,
            "ratio": ratio,
            "n_synthetic": len(syn_data) if mixed else 0,
            "guidance": guidance.fingerprint(),
        }
    resume = ResumeState(work_dir / "state.safetensors", fingerprint)
    live = LiveLog(work_dir / "history.jsonl")  # each epoch's metrics as it ends, to watch a long job
    history: list[dict] = []
    start = 0
    if (state := resume.load()) is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"], gen)
        if mixed:
            stream.restore(state["stream"])
        history, start = state["history"], state["epoch"]
        log.info("resumed after epoch %d of %d from %s", start, settings.epochs, resume.path)
    live.restart(history)

    def prepare(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        x = augment(x, settings.crop_padding, settings.flip, g).float().div_(255)
        if dev.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        if guidance.adversarial:
            adv = guidance.adversarial
            x = pgd_attack(model, x, y, adv["epsilon"], adv["step_size"], adv["steps"], g)
        return x

    def loss_of(x: torch.Tensor, y: torch.Tensor, sources: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy, plus lambda3 L_pg over the rows of each part of the batch PG applies to."""
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            if guidance.guide is None:
                logits = model(x)
                return F.cross_entropy(logits, y, label_smoothing=settings.label_smoothing), logits
            logits, feats = model.forward_features(x)
            loss = F.cross_entropy(logits, y, label_smoothing=settings.label_smoothing)
            row = 0
            for part, count in sources:
                if part in guidance.pg_on and count > 1:
                    with torch.no_grad():
                        guide_feats = guidance.guide.features(x[row : row + count])
                    loss = loss + guidance.pg_weight * pretrained_guidance_loss(
                        feats[row : row + count], guide_feats, guidance.pg_distance, guidance.pg_loss
                    )
                row += count
        return loss, logits

    progress = Progress(log, "epoch", settings.epochs, every=5.0, start=start)
    snapshots = {e: work_dir / f"epoch-{e:03d}.safetensors" for e in settings.save_epochs}
    for epoch in range(start, settings.epochs):
        model.train()
        t0 = time.monotonic()
        order = torch.randperm(len(data), generator=gen).to(dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        seen = 0
        for i in range(steps_per_epoch):
            for group in opt.param_groups:
                group["lr"] = settings.lr_at(epoch * steps_per_epoch + i, total)
            idx = order[i * b_real : (i + 1) * b_real]
            x, y = prepare(data[idx], targets[idx], gen), targets[idx]
            sources = [(source, len(idx))]
            if mixed:
                sidx = stream.take(b_syn).to(dev)
                xs, ys = prepare(syn_data[sidx], syn_targets[sidx], stream.gen), syn_targets[sidx]
            if mixed and guidance.real_guidance:
                loss_r, logits_r = loss_of(x, y, sources)
                loss_f, logits_f = loss_of(xs, ys, [("synthetic", len(sidx))])
                flat = real_guidance_update(
                    _flat_grad(loss_r, params),
                    _flat_grad(loss_f, params),
                    guidance.lambda_real,
                    guidance.lambda_synthetic,
                )
                for p, g in zip(params, flat.split([p.numel() for p in params]), strict=True):
                    p.grad = g.view_as(p).to(p.dtype)
                loss = (loss_r * len(idx) + loss_f * len(sidx)) / (len(idx) + len(sidx))
                logits, y = torch.cat([logits_r, logits_f]), torch.cat([y, ys])
            else:
                if mixed:
                    x, y = torch.cat([x, xs]), torch.cat([y, ys])
                    sources.append(("synthetic", len(sidx)))
                loss, logits = loss_of(x, y, sources)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
        history.append(
            {
                "epoch": epoch + 1,
                "loss": loss_sum.item() / seen,
                "train_accuracy": correct.item() / seen,
                "seconds": time.monotonic() - t0,
            }
        )
        live.append(history[-1])
        if epoch + 1 in snapshots:
            save_classifier(snapshots[epoch + 1], model, seed=settings.seed, epoch=epoch + 1, train=settings.extra)
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "rng": rng_state(gen),
            "history": history,
            "epoch": epoch + 1,
        }
        if mixed:
            state["stream"] = stream.state()
        resume.save(state)
        progress.update(epoch + 1, f"loss={history[-1]['loss']:.4f} acc={history[-1]['train_accuracy']:.4f}")
    return history, snapshots
