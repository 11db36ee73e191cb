"""The classifier trainer: the split lives on the device as one uint8 tensor, augmentation is done on
whole batches, SGD with momentum and a per-step cosine or multistep schedule. The full state is saved
each epoch outside the declared outputs, so a killed job resumes where it stopped."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthval.checkpoint import ResumeState, rng_state, set_rng_state
from synthval.classifiers.guidance import pgd_attack, pretrained_guidance_loss, real_guidance_update
from synthval.classifiers.registry import Classifier, save_classifier
from synthval.data.stream import ShardCycle, ShardStream, stream_batches
from synthval.live import LiveLog
from synthval.runtime import Progress, accelerator, ranks
from synthval.runtime import device as pick_device
from synthval.zoo import TrainSettings

log = logging.getLogger("synthval.classifiers")


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
    """How generated data enters a training run beside the real data (Wang et al. 2024 §4, Sehwag et al. 2022 §3).

    ``guide``: Pretrained Guidance's frozen network (eq. 1), applied with weight ``pg_weight``
    (lambda3 of eq. 3) to the parts of each batch named in ``pg_on`` (``synthetic``: PG-F of Wang et al. 2024
    Table 4, ``real``: PG-R). ``real_guidance``: the projected update of eq. 2 with ``lambda_real`` and
    ``lambda_synthetic``. ``adversarial``: PGD training (``epsilon``, ``step_size``, ``steps``, l-inf
    in [0, 1] pixels), Sehwag et al.'s robust setting.
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
    """An endless shuffled stream over held images (a fresh permutation each pass), with its own RNG;
    ``gen`` also draws their augmentation."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, seed: int):
        self.images, self.labels, self.n = images, labels, len(images)
        self.gen = torch.Generator().manual_seed(seed)
        self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0

    def take(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``k`` images (uint8 NCHW) and labels."""
        parts = []
        while k > 0:
            if self.pos == self.n:
                self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0
            part = self.order[self.pos : self.pos + k]
            self.pos += len(part)
            k -= len(part)
            parts.append(part)
        idx = torch.cat(parts).to(self.images.device)
        return self.images[idx], self.labels[idx]

    def state(self) -> dict:
        return {"gen": self.gen.get_state(), "order": self.order, "pos": torch.tensor(self.pos)}

    def restore(self, state: dict) -> None:
        self.gen.set_state(state["gen"])
        self.order, self.pos = state["order"], int(state["pos"])


def channel_stats(batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (unbiased) std of the [0, 1] pixels of uint8 NCHW batches, from float64 sums:
    what :meth:`Classifier.set_normalisation` computes over a split it holds, for a streamed one."""
    total: torch.Tensor | float = 0.0
    squares: torch.Tensor | float = 0.0
    count = 0
    for x, _ in batches:
        x = x.double().div(255)
        total, squares = total + x.sum(dim=(0, 2, 3)), squares + x.square().sum(dim=(0, 2, 3))
        count += x.numel() // x.shape[1]
    total, squares = torch.as_tensor(total), torch.as_tensor(squares)
    if ranks()[1] > 1:  # each rank streamed its own shards: the sums of them all
        sums = torch.cat([total, squares, torch.tensor([float(count)], dtype=torch.float64)])
        torch.distributed.all_reduce(sums)
        total, squares, count = sums[: len(total)], sums[len(total) : -1], int(sums[-1].item())
    mean = total / count
    var = (squares - count * mean.square()) / max(count - 1, 1)
    return mean.float(), var.clamp_min(0).sqrt().float()


def _flat_grad(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """The gradient of ``loss`` with respect to ``params`` as one flat float32 vector (zeros for a
    parameter the loss does not reach)."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat(
        [(torch.zeros_like(p) if g is None else g).flatten().float() for p, g in zip(params, grads, strict=True)]
    )


class _Training:
    """One training run's state and steps, in the order :func:`fit` takes them: the batches of an epoch
    (:meth:`epoch`), each one optimiser step (:meth:`step`), and what the resume state holds
    (:meth:`state`, :meth:`restore`)."""

    real: ShardStream  # a streamed split (held: data and targets)
    stream: ShardCycle | _Stream  # the synthetic images of a mixed batch
    net: nn.Module  # what the forward pass runs: the model, or its DistributedDataParallel wrapper

    def __init__(
        self,
        model: Classifier,
        images: np.ndarray | ShardStream,
        labels: np.ndarray | None,
        settings: TrainSettings,
        source: str,
        synthetic: tuple[np.ndarray, np.ndarray] | ShardStream | None,
        ratio: float,
        guidance: Guidance,
        normalise: bool,
    ):
        self.dev = dev = pick_device()
        self.model, self.settings, self.source, self.guidance = model, settings, source, guidance
        torch.manual_seed(settings.seed)
        self.accel = accel = accelerator()
        self.scaler = accel.scaler(dev)
        self.streamed = isinstance(images, ShardStream)
        if isinstance(images, ShardStream):  # decoded batch by batch, every epoch
            self.real, self.n = images, len(images)
        else:
            self.data = torch.as_tensor(images).permute(0, 3, 1, 2).contiguous().to(dev)  # uint8 NCHW, decoded once
            self.targets = torch.as_tensor(labels, dtype=torch.long, device=dev)
            self.n = len(self.data)
        self.mixed = synthetic is not None and ratio > 0
        self.ratio = ratio
        self.b_real, self.b_syn = batch_split(settings.batch_size, ratio if self.mixed else 0.0)
        self.syn_streamed = self.mixed and isinstance(synthetic, ShardStream)
        if isinstance(synthetic, ShardStream) and self.mixed:
            self.stream = ShardCycle(synthetic, settings.seed + 1, dev)
        elif synthetic is not None and self.mixed:
            syn_images = torch.as_tensor(synthetic[0]).permute(0, 3, 1, 2).contiguous().to(dev)
            syn_labels = torch.as_tensor(synthetic[1], dtype=torch.long, device=dev)
            self.stream = _Stream(syn_images, syn_labels, settings.seed + 1)
        if guidance.real_guidance and not self.mixed:
            raise ValueError(
                "Real Guidance needs real and synthetic images in every batch (synthetic images and a ratio > 0)"
            )
        model.to(dev)
        if guidance.guide is not None:
            guidance.guide.to(dev).eval().requires_grad_(False)
        if guidance.real_guidance and self.scaler.is_enabled():
            raise ValueError("Real Guidance projects unscaled gradients: use accelerator precision bf16 or fp32")
        self.memory_format = accel.memory_format(dev)
        model.to(memory_format=self.memory_format)
        self.rank, self.world = ranks()
        self.net = model  # what the forward pass runs: the model, or its DistributedDataParallel wrapper
        if self.world > 1:
            self._distribute(dev)
        self.net = accel.compiled(self.net)
        if normalise and self.streamed:
            model.set_statistics(*channel_stats(self._stream(0)))
        elif normalise:
            model.set_normalisation(self.data.float().div(255))
        self.opt = make_optimizer(model, settings)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.gen = torch.Generator().manual_seed(settings.seed)
        self.steps_per_epoch = math.ceil(self.n / self.b_real)
        if self.streamed and self.world > 1:  # every rank takes as many full local batches as the one with fewest
            self.steps_per_epoch = self.real.fewest_per_rank() // (self.b_real // self.world)
        self.total = settings.epochs * self.steps_per_epoch

    def _distribute(self, dev: torch.device) -> None:
        """Train as one rank of ``self.world``: DistributedDataParallel over the model (gradients averaged in
        the backward pass), and a streamed split read from this rank's shards only."""
        from torch.nn.parallel import DistributedDataParallel

        guidance = self.guidance
        if guidance.guide is not None or guidance.real_guidance or guidance.adversarial:
            raise ValueError("Pretrained Guidance, Real Guidance and PGD training run in one process: use 1 rank")
        if self.syn_streamed and isinstance(self.stream, ShardCycle):  # each rank cycles through its own shards
            if self.b_syn % self.world:
                raise ValueError(f"{self.b_syn} synthetic images a batch do not split over {self.world} ranks")
            self.stream = ShardCycle(self.stream.stream.for_rank(self.rank, self.world), self.stream.seed, dev)
        if self.streamed:
            if self.b_real % self.world:
                raise ValueError(f"a batch of {self.b_real} real images does not split over {self.world} ranks")
            self.real = self.real.for_rank(self.rank, self.world)
        self.net = DistributedDataParallel(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)

    def _mine(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """This rank's rows of a batch every rank holds whole (as evenly split as the batch allows)."""
        return [torch.tensor_split(t, self.world)[self.rank] for t in tensors]

    def fingerprint(self) -> dict:
        """What the resume state must have been trained with to be resumed."""
        model, guidance = self.model, self.guidance
        fingerprint = {**asdict(self.settings), "n": self.n, "arch": model.arch, "config": model.config}
        if self.streamed:
            fingerprint["stream"] = {"shuffle": self.real.shuffle, "buffer": self.real.buffer, "seed": self.real.seed}
        if (dtype := self.accel.dtype(self.dev)) is not None:  # mixed precision: other numbers
            fingerprint["precision"] = str(dtype)
        if self.mixed or guidance != Guidance():
            fingerprint |= {
                "source": self.source,
                "ratio": self.ratio,
                "n_synthetic": self.stream.n if self.mixed else 0,
                "guidance": guidance.fingerprint(),
            }
        return fingerprint

    def state(self, history: list[dict], epoch: int) -> dict:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "rng": rng_state(self.gen),
            "history": history,
            "epoch": epoch,
        }
        if self.mixed:
            state["stream"] = self.stream.state()
        if self.scaler.is_enabled():
            state["scaler"] = self.scaler.state_dict()
        return state

    def restore(self, state: dict) -> tuple[list[dict], int]:
        """Load a resume state; return its history and the number of epochs it finished."""
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"], self.gen)
        if self.mixed:
            self.stream.restore(state["stream"])
        if self.scaler.is_enabled() and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        return state["history"], state["epoch"]

    def prepare(self, x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Augment a uint8 batch into the model's float input (and PGD's adversarial examples)."""
        x = augment(x, self.settings.crop_padding, self.settings.flip, g).float().div_(255)
        x = x.contiguous(memory_format=self.memory_format)
        if adv := self.guidance.adversarial:
            x = pgd_attack(self.model, x, y, adv["epsilon"], adv["step_size"], adv["steps"], g)
        return x

    def loss(self, x: torch.Tensor, y: torch.Tensor, sources: list[tuple[str, int]]) -> tuple[torch.Tensor, ...]:
        """Cross-entropy, plus lambda3 L_pg over the rows of each part of the batch PG applies to."""
        model, guidance, smoothing = self.model, self.guidance, self.settings.label_smoothing
        with self.accel.autocast(self.dev):
            if guidance.guide is None:
                logits = self.net(x)
                return F.cross_entropy(logits, y, label_smoothing=smoothing), logits
            logits, feats = model.forward_features(x)
            loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
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

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One optimiser step on a batch of real uint8 NCHW ``images`` (and the next synthetic ones);
        returns the batch's loss, logits and labels."""
        x, y = self.prepare(images, labels, self.gen), labels
        sources = [(self.source, len(labels))]
        if self.mixed:
            syn_images, ys = self.stream.take(self.b_syn // (self.world if self.syn_streamed else 1))
            xs = self.prepare(syn_images, ys, self.stream.gen)
        if self.mixed and self.guidance.real_guidance:
            loss_r, logits_r = self.loss(x, y, sources)
            loss_f, logits_f = self.loss(xs, ys, [("synthetic", len(ys))])
            flat = real_guidance_update(
                _flat_grad(loss_r, self.params),
                _flat_grad(loss_f, self.params),
                self.guidance.lambda_real,
                self.guidance.lambda_synthetic,
            )
            for p, g in zip(self.params, flat.split([p.numel() for p in self.params]), strict=True):
                p.grad = g.view_as(p).to(p.dtype)
            loss = (loss_r * len(labels) + loss_f * len(ys)) / (len(labels) + len(ys))
            logits, y = torch.cat([logits_r, logits_f]), torch.cat([y, ys])
            self.opt.step()
            return loss, logits, y
        # the whole batch over ranks: a streamed set's share is read by each rank, a held one's cut from it
        whole = len(y) * (self.world if self.streamed else 1)
        whole += len(ys) * (self.world if self.syn_streamed else 1) if self.mixed else 0
        if self.world > 1 and not self.streamed:  # every rank augmented the whole batch: it keeps its rows
            x, y = self._mine(x, y)
        if self.world > 1 and self.mixed and not self.syn_streamed:
            xs, ys = self._mine(xs, ys)
        if self.mixed:
            x, y = torch.cat([x, xs]), torch.cat([y, ys])
            sources.append(("synthetic", len(ys)))
        loss, logits = self.loss(x, y, sources)
        self.opt.zero_grad(set_to_none=True)
        # a rank's mean weighted by its share: the ranks' average gradient is the whole batch's
        self.scaler.scale(loss * (len(y) * self.world / whole) if self.world > 1 else loss).backward()
        self.scaler.step(self.opt)  # the optimiser's step (skipped where fp16 gradients overflowed)
        self.scaler.update()
        return loss, logits, y

    def _stream(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The streamed split's batches of an epoch, as uint8 NCHW images and labels on the device."""
        self.real.set_epoch(epoch)
        cuda = self.dev.type == "cuda"
        size = self.b_real // self.world  # a rank's share of the batch (it reads its own shards)
        for batch in stream_batches(self.real, size, pin_memory=cuda):
            x = torch.from_numpy(batch.images).permute(0, 3, 1, 2).contiguous()
            yield x.to(self.dev, non_blocking=cuda), torch.from_numpy(batch.labels).to(self.dev, non_blocking=cuda)

    def batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The real images of an epoch in a seeded order, batch by batch: a permutation of the split on the
        device, or the streamed split's seeded shard order and shuffle buffer."""
        if self.streamed:
            yield from self._stream(epoch)
            return
        order = torch.randperm(self.n, generator=self.gen).to(self.dev)
        for i in range(self.steps_per_epoch):
            idx = order[i * self.b_real : (i + 1) * self.b_real]
            yield self.data[idx], self.targets[idx]

    def epoch(self, epoch: int) -> dict:
        """One pass over the real images in a seeded order; returns the epoch's history row."""
        self.model.train()
        t0 = time.monotonic()
        loss_sum = torch.zeros((), device=self.dev)
        correct = torch.zeros((), device=self.dev, dtype=torch.long)
        seen = 0
        for i, (images, labels) in enumerate(self.batches(epoch)):
            for group in self.opt.param_groups:
                group["lr"] = self.settings.lr_at(epoch * self.steps_per_epoch + i, self.total)
            loss, logits, y = self.step(images, labels)
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            seen += len(y)
            if i + 1 == self.steps_per_epoch:  # a rank's stream may hold a few more images than the others'
                break
        if self.world > 1:
            totals = torch.stack([loss_sum, correct.to(loss_sum.dtype), torch.tensor(float(seen), device=self.dev)])
            torch.distributed.all_reduce(totals)
            loss_sum, correct, seen = totals[0], totals[1], int(totals[2].item())
        return {
            "epoch": epoch + 1,
            "loss": loss_sum.item() / seen,
            "train_accuracy": correct.item() / seen,
            "seconds": time.monotonic() - t0,
        }


def fit(
    model: Classifier,
    images: np.ndarray | ShardStream,
    labels: np.ndarray | None,
    settings: TrainSettings,
    work_dir: str | Path,
    *,
    source: str = "real",
    synthetic: tuple[np.ndarray, np.ndarray] | ShardStream | None = None,
    ratio: float = 0.0,
    guidance: Guidance | None = None,
    normalise: bool = True,
) -> tuple[list[dict], dict[int, Path]]:
    """Train ``model`` on uint8 NHWC ``images`` (or a :class:`synthval.data.stream.ShardStream` of them,
    ``labels`` None: a split too large to hold, decoded every epoch in the stream's seeded order by its
    DataLoader workers); return the per-epoch history and the weights file of
    every epoch in ``settings.save_epochs`` (written into ``work_dir``, where the resume state lives).

    ``source`` says what ``images`` are (``real`` or ``synthetic``: Pretrained Guidance's ``pg_on``
    refers to it). With ``synthetic`` images (held, or a ShardStream) and a ``ratio`` > 0, every batch
    also holds synthetic images (:func:`batch_split`), drawn from an endless stream with its own seed; an
    epoch is one pass over ``images``. With ratio 0 no synthetic image is drawn and training is exactly real-only
    training. ``normalise=False`` keeps the model's input normalisation (a second training stage).
    Precision, memory layout and compilation follow the job's :func:`synthval.runtime.accelerator`.
    """
    work_dir = Path(work_dir)
    run = _Training(model, images, labels, settings, source, synthetic, ratio, guidance or Guidance(), normalise)
    resume = ResumeState(work_dir / "state.safetensors", run.fingerprint())
    live = LiveLog(work_dir / "history.jsonl" if run.rank == 0 else None)  # each epoch's metrics as it ends
    history: list[dict] = []
    start = 0
    if (state := resume.load()) is not None:
        history, start = run.restore(state)
        log.info("resumed after epoch %d of %d from %s", start, settings.epochs, resume.path)
    live.restart(history)
    progress = Progress(log, "epoch", settings.epochs, every=5.0, start=start)
    snapshots = {e: work_dir / f"epoch-{e:03d}.safetensors" for e in settings.save_epochs}
    for epoch in range(start, settings.epochs):
        history.append(run.epoch(epoch))
        live.append(history[-1])
        if run.rank == 0 and epoch + 1 in snapshots:  # one rank writes: every rank holds the same weights
            save_classifier(snapshots[epoch + 1], model, seed=settings.seed, epoch=epoch + 1, train=settings.extra)
        if run.rank == 0:
            resume.save(run.state(history, epoch + 1))
        progress.update(epoch + 1, f"loss={history[-1]['loss']:.4f} acc={history[-1]['train_accuracy']:.4f}")
    return history, snapshots
