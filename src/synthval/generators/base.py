"""The generator interface: a registry of families, one training loop for all of them (resume, EMA,
checkpoint selection by a quality score), and sampling ``n`` images for given labels from a seed.

A family is two classes registered together: a :class:`Generator` (the network that is saved and
sampled) and a :class:`FamilyTrainer` (what else training needs: a critic or discriminator, optimisers,
the loss of one step). :func:`train_generator` drives any family the same way.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from synthval.checkpoint import ResumeState, rng_state, set_rng_state
from synthval.data.images import encode_png, tile_images
from synthval.data.shards import read_manifest
from synthval.data.stream import ShardCycle, ShardStream, class_sample
from synthval.io import atomic_path, load_tensors, save_tensors
from synthval.live import LiveLog
from synthval.runtime import Progress, accelerator, ranks
from synthval.runtime import device as pick_device
from synthval.seeding import derive_seed

log = logging.getLogger("synthval.generators")

#: A training batch: ``batch()`` gives images in [-1, 1] (NCHW) and labels; ``batch(with_keys=True)`` also
#: the images' keys, for a family that conditions on something kept per image (captions).
Batch = Callable[..., tuple]


class Generator(nn.Module):
    """A class-conditional image generator. Subclasses take their architecture hyper-parameters as
    keyword arguments of ``__init__`` (recorded in :attr:`hparams` and saved with the weights) and
    define :meth:`sample_tensor`."""

    family: str = ""

    def __init__(self, num_classes: int, in_chans: int, image_size: int, **hparams: Any):
        super().__init__()
        self.num_classes, self.in_chans, self.image_size = num_classes, in_chans, image_size
        self.hparams = hparams

    def sample_tensor(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Images in [-1, 1], NCHW, one per label; all randomness from ``generator``."""
        raise NotImplementedError

    def rewind(self) -> None:
        """Back to the first draw of whatever sampling walks through besides its noise (a latent prior's
        real images), so that samples of the same seed are the same samples; nothing here."""


class FamilyTrainer:
    """One family's training step around its generator ``model``. Subclasses build their other
    networks and optimisers in ``__init__`` (keyword arguments are the family's training settings)
    and list everything resumable in :meth:`state_dict`.

    As one rank of a distributed job, a step draws the whole batch and all its randomness as one process
    would (every rank's generator is in the same state), keeps its rows of them (:meth:`mine`), and
    averages its gradients with the other ranks' before clipping and stepping (:meth:`backward`): with
    losses that are means over the batch's rows, the whole batch's gradient."""

    @property
    def prepare_per_class(self) -> int:
        """Images of each class :meth:`prepare` needs when the split is streamed (it then gets a seeded
        class-balanced sample of the split instead of all of it); 0: none."""
        return 0

    def __init__(self, model: Generator, device: torch.device, gen: torch.Generator):
        self.model, self.device, self.gen = model, device, gen
        self.rank, self.world = ranks()

    def mine(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """This rank's rows of tensors drawn for the whole batch (all of them in one process)."""
        if self.world == 1:
            return list(tensors)
        return [torch.tensor_split(t, self.world)[self.rank] for t in tensors]

    def backward(self, loss: torch.Tensor, params: Iterable[torch.Tensor]) -> None:
        """``loss.backward()``, then every rank's gradients of ``params`` averaged (an all-reduce per
        tensor, as DistributedDataParallel does, but after a backward pass of any kind: WGAN-GP's
        gradient penalty differentiates twice)."""
        loss.backward()
        if self.world == 1:
            return
        for p in params:
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad.div_(self.world)

    def prepare(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Once, before the first step (not on resume: what it sets lives in the generator's saved
        state), with the whole training split (images in [-1, 1], NCHW): e.g. class statistics the
        generator conditions on. Draws its randomness from the trainer's generator."""

    def step(self, batch: Batch) -> dict[str, float]:
        """One generator update (plus whatever critic updates precede it); returns losses to log."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def noise(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.gen).to(self.device)

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.gen).to(self.device)


@dataclass(frozen=True)
class _Family:
    generator: type[Generator]
    trainer: type[FamilyTrainer] | None


_FAMILIES: dict[str, _Family] = {}


def register(name: str, trainer: type[FamilyTrainer] | None) -> Callable[[type[Generator]], type[Generator]]:
    """Register a generator family under ``name`` with its trainer (``None``: assembled, not trained)."""

    def wrap(cls: type[Generator]) -> type[Generator]:
        cls.family = name
        _FAMILIES[name] = _Family(cls, trainer)
        return cls

    return wrap


def list_generators() -> list[str]:
    return sorted(_FAMILIES)


def _family(name: str) -> _Family:
    if name not in _FAMILIES:
        raise ValueError(f"unknown generator family {name!r}; available: {list_generators()}")
    return _FAMILIES[name]


def create_generator(name: str, num_classes: int, in_chans: int, image_size: int, **hparams: Any) -> Generator:
    return _family(name).generator(num_classes=num_classes, in_chans=in_chans, image_size=image_size, **hparams)


def conditioned_training_set(
    conditioning: str,
    images: np.ndarray,
    labels: np.ndarray,
    keys: list[str],
    num_classes: int,
    cls: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """The images, labels, keys and class count a generator trains on, by its conditioning: ``class``,
    the split as it is; ``per_class``, class ``cls`` alone as a one-class set; ``pseudo_label``, every
    image with one label (unconditional; the reference classifier labels its samples at synthesis)."""
    if conditioning == "per_class":
        keep = labels == cls
        kept = [k for k, m in zip(keys, keep, strict=True) if m]
        return images[keep], np.zeros(int(keep.sum()), np.int64), kept, 1
    if conditioning == "pseudo_label":
        return images, np.zeros_like(labels), keys, 1
    return images, labels, keys, num_classes


def save_generator(path: str | Path, model: Generator, record: dict) -> None:
    meta = {
        "family": model.family,
        "num_classes": model.num_classes,
        "in_chans": model.in_chans,
        "image_size": model.image_size,
        "hparams": model.hparams,
        "record": record,
    }
    save_tensors(path, model.state_dict(), meta)


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> Generator:
    tensors, meta = load_tensors(path)
    model = create_generator(
        meta["family"], meta["num_classes"], meta["in_chans"], meta["image_size"], **meta["hparams"]
    )
    model.load_state_dict(tensors)
    return model.to(device).eval()


def to_unit(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    t = torch.as_tensor(images)
    return t.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC."""
    return images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def sample_with(model: Generator, labels: np.ndarray, gen: torch.Generator, batch_size: int = 256) -> np.ndarray:
    """Sample one image per entry of ``labels``, drawing all noise from ``gen`` (at the job's accelerator
    precision: bf16 autocast on CUDA by default)."""
    device = next(model.parameters()).device
    out, autocast = [], accelerator().autocast
    for start in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[start : start + batch_size], device=device)
        with autocast(device):
            out.append(to_uint8(model.sample_tensor(y, gen)))
    return np.concatenate(out) if out else np.zeros((0, model.image_size, model.image_size, model.in_chans), np.uint8)


def sample_images(model: Generator, labels: np.ndarray, seed: int, batch_size: int = 256) -> np.ndarray:
    """Sample one image per entry of ``labels``; the same (model, labels, seed) gives the same bytes on CPU
    (a latent prior's walk starts again: :meth:`Generator.rewind`)."""
    device = next(model.parameters()).device
    model.rewind()
    return sample_with(model, labels, torch.Generator(device=device).manual_seed(seed), batch_size)


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """Exponential moving average of the weights with the usual warm-up, ``min(decay, (1+t)/(10+t))``,
    so early averages are not dominated by the random initialisation; buffers are copied."""
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1 - d)
    for kept, b in zip(ema.buffers(), model.buffers(), strict=True):
        kept.copy_(b)


Score = Callable[[Callable[[np.ndarray, int], np.ndarray], int], float]


def live_log_path(resume_path: str | Path) -> str:
    """Where a generator's losses and scores are appended as it trains (beside its resume state)."""
    return str(Path(resume_path).with_suffix(".jsonl"))


def live_grid_folder(resume_path: str | Path) -> str:
    """Where a generator's periodic sample grids are written (beside its resume state)."""
    path = Path(resume_path)
    return str(path.with_name(f"{path.stem}-samples"))


class _GeneratorTraining:
    """One generator's training state and steps, in the order :func:`train_generator` takes them: a step
    of the family's trainer and the EMA (:meth:`step`), scoring (:meth:`evaluate`), sample grids
    (:meth:`write_grid`), the resume state (:meth:`state`, :meth:`restore`) and the weights kept
    (:meth:`finish`)."""

    def __init__(
        self,
        model: Generator,
        images: np.ndarray | ShardStream,
        labels: np.ndarray | None,
        batch_size: int,
        seed: int,
        ema_decay: float,
        score: Score | None,
        resume_path: str | Path,
        family_settings: dict,
        keys: list[str] | None = None,
    ):
        family = _family(model.family)
        if family.trainer is None:
            raise ValueError(f"generator family {model.family!r} is assembled from trained parts, not trained itself")
        if len(images) == 0:
            raise ValueError("cannot train a generator on an empty split")
        self.model, self.batch_size, self.seed, self.ema_decay = model, batch_size, seed, ema_decay
        self.score, self.resume_path = score, resume_path
        self.rank, self.world = ranks()
        if batch_size % self.world:
            raise ValueError(f"a batch of {batch_size} images does not split over {self.world} ranks")
        self.dev = dev = pick_device()
        torch.manual_seed(seed)
        model.to(dev).train()
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        self.trainer = family.trainer(model, dev, self.gen, **family_settings)
        self.ema = copy.deepcopy(model).eval().requires_grad_(False) if ema_decay > 0 else None
        self.keeper = self.ema if self.ema is not None else model
        self.streamed = isinstance(images, ShardStream)
        if isinstance(images, ShardStream):  # decoded batch by batch: an endless seeded stream, no replacement
            self.cycle = ShardCycle(images, derive_seed(seed, "batches"), dev)
        else:
            self.data = to_unit(images).to(dev)
            self.labels = torch.as_tensor(np.asarray(labels, np.int64), device=dev)
            self.keys = keys
        self.live = LiveLog(live_log_path(resume_path) if self.rank == 0 else None)  # rank 0 writes
        self.history: list[dict] = []
        self.scores: list[dict] = []
        self.best: dict[str, Any] | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.grid_labels = np.repeat(np.arange(min(model.num_classes, 10)), 8)

    def restore(self, state: dict) -> int:
        """Load a resume state; return the number of steps it finished."""
        if self.streamed:
            self.cycle.restore(state["cycle"])
        self.model.load_state_dict(state["generator"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"], self.gen)
        self.history, self.scores = state["history"], state["scores"]
        self.best, self.best_state = state["best"], state["best_state"]
        return state["step"]

    def state(self, done: int) -> dict:
        return {
            "generator": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "trainer": self.trainer.state_dict(),
            "rng": rng_state(self.gen),
            "history": self.history,
            "scores": self.scores,
            "best": self.best,
            "best_state": self.best_state,
            "step": done,
        } | ({"cycle": self.cycle.state()} if self.streamed else {})

    def batch(self, with_keys: bool = False) -> tuple:
        """A batch drawn with replacement from the training images (the trainer asks for as many as it
        needs); from a streamed split, its next images (every rank reads the whole batch). ``with_keys``:
        the images' keys too."""
        if self.streamed:  # a one-class (pseudo-labelled) generator reads every image as class 0
            images, labels, *keys = self.cycle.take(self.batch_size, with_keys)
            labels = labels if self.model.num_classes > 1 else labels * 0
            return (images.float().div(127.5).sub(1.0), labels, *keys)
        idx = torch.randint(len(self.data), (self.batch_size,), generator=self.gen).to(self.dev)
        if not with_keys:
            return self.data[idx], self.labels[idx]
        if self.keys is None:
            raise ValueError(f"{self.model.family}: this family reads each image's key; train_generator got none")
        return self.data[idx], self.labels[idx], [self.keys[i] for i in idx.tolist()]

    def prepare(self) -> None:
        """The family's preparation, before the first step: with the whole split, or a streamed split's
        seeded class-balanced sample of what it asks for (:attr:`FamilyTrainer.prepare_per_class`)."""
        if not self.streamed:
            self.trainer.prepare(self.data, self.labels)
            return
        classes = self.model.num_classes
        images, labels = class_sample(
            self.cycle.stream, self.trainer.prepare_per_class, classes, one_class=classes == 1
        )
        self.trainer.prepare(to_unit(images).to(self.dev), torch.as_tensor(labels, device=self.dev))

    def step(self, step: int) -> dict:
        """One step of the family's trainer, then the EMA; returns its losses."""
        metrics = self.trainer.step(self.batch)
        if self.ema is not None:
            _ema_update(self.ema, self.model, self.ema_decay, step)
        return metrics

    def logged(self, metrics: dict[str, float]) -> dict[str, float]:
        """A step's losses as the history keeps them: over ranks, the mean of every rank's."""
        if self.world == 1:
            return metrics
        values = torch.tensor(list(metrics.values()), dtype=torch.float64)
        torch.distributed.all_reduce(values)
        return dict(zip(metrics, (values / self.world).tolist(), strict=True))

    def _sample(self, labels, seed: int) -> np.ndarray:
        """Samples of the weights kept (the EMA copy when there is one), leaving the model in training mode."""
        self.keeper.eval()
        images = sample_images(self.keeper, labels, seed)
        if self.keeper is self.model:
            self.model.train()
        return images

    def write_grid(self, step: int) -> None:
        images = self._sample(self.grid_labels, self.seed)
        with atomic_path(Path(live_grid_folder(self.resume_path)) / f"step-{step:06d}.png") as tmp:
            tmp.write_bytes(encode_png(tile_images(images, 8)))

    def evaluate(self, step: int) -> None:
        """Score the kept weights; remember them when they score best so far."""
        if self.score is None:
            raise ValueError("this generator has no score to evaluate (eval_every 0)")
        self.keeper.eval()
        value = self.score(lambda y, s: sample_images(self.keeper, y, s), self.model.num_classes)
        if self.keeper is self.model:
            self.model.train()
        self.scores.append({"step": step, "score": value})
        self.live.append(self.scores[-1])
        if self.best is None or value < self.best["score"]:
            self.best = {"step": step, "score": value}
            self.best_state = {k: v.detach().clone() for k, v in self.keeper.state_dict().items()}
        log.info("step %d: score %.4f (best %.4f at step %d)", step, value, self.best["score"], self.best["step"])

    def finish(self, iterations: int) -> tuple[int, str]:
        """Leave the kept weights in the model: the best-scoring, else the EMA's or the last step's."""
        if self.best_state is not None and self.best is not None:
            self.model.load_state_dict(self.best_state)
            chosen, how = self.best["step"], "lowest score"
        else:
            if self.ema is not None:
                self.model.load_state_dict(self.ema.state_dict())
            chosen, how = iterations, "last step"
        self.model.eval()
        return chosen, how


def _data_digest(images: np.ndarray | ShardStream, labels: np.ndarray | None) -> str:
    """What a resume state was trained on: the images and labels, or a stream's shard digests and seed."""
    if isinstance(images, ShardStream):
        return hashlib.sha256(json.dumps([read_manifest(images.manifest)["shards"], images.seed]).encode()).hexdigest()
    return hashlib.sha256(np.ascontiguousarray(images).tobytes() + np.asarray(labels, np.int64).tobytes()).hexdigest()


def train_generator(
    model: Generator,
    images: np.ndarray | ShardStream,
    labels: np.ndarray | None,
    *,
    iterations: int,
    batch_size: int,
    seed: int,
    resume_path: str | Path,
    checkpoint_every: int = 100,
    ema_decay: float = 0.0,
    eval_every: int = 0,
    score: Score | None = None,
    log_every: int = 50,
    grid_every: int = 0,
    keys: list[str] | None = None,
    **family_settings: Any,
) -> dict:
    """Train ``model`` on uint8 NHWC ``images`` with integer ``labels`` for ``iterations`` steps (or on a
    :class:`~synthval.data.stream.ShardStream` of a split too large to hold, ``labels`` None: batches are
    its next images, each image once per pass in the stream's seeded order, instead of draws with
    replacement). ``keys``: the images' keys, for a family that conditions on per-image captions.

    - Every ``checkpoint_every`` steps the full state (generator, EMA copy, the family's networks and
      optimisers, RNG, histories, best checkpoint so far) is saved to ``resume_path``; a rerun with the
      same settings continues from there and ends with the same weights as an uninterrupted run.
    - With ``ema_decay`` > 0 an exponential moving average of the weights is what gets scored and kept.
    - With ``score`` and ``eval_every`` > 0, the generator is scored every ``eval_every`` steps and at
      the end (lower is better), and the best-scoring weights are the ones left in ``model``, as Shoshan et al. 2023
      keeps the best-FID instance of each generator. Without, the last step's weights are kept.
    - Losses and scores are appended to ``<resume_path>.jsonl`` as they are computed
      (:class:`~synthval.live.LiveLog`); with ``grid_every`` > 0, a grid of samples (one row per
      class, the same seed every time) is written to ``<resume_path>-samples/step-NNNNNN.png`` every
      ``grid_every`` steps and at the end. Neither changes the weights: sampling has its own RNG.

    Returns the training record: loss history, score history, the chosen step and how it was chosen.

    As a rank of a distributed job, each rank trains on its share of every batch of ``batch_size``
    (:class:`FamilyTrainer`) and rank 0 scores, writes and saves; every rank resumes from its state.
    """
    run = _GeneratorTraining(
        model, images, labels, batch_size, seed, ema_decay, score, resume_path, family_settings, keys
    )
    settings = {"iterations": iterations, "batch_size": batch_size, "seed": seed, "ema_decay": ema_decay}
    fingerprint = {"family": model.family, "hparams": model.hparams, **settings, "data": _data_digest(images, labels)}
    # rank 0 alone scores: the others' fingerprint must still be its
    fingerprint |= {"eval_every": eval_every if score or run.rank > 0 else 0, "settings": family_settings}
    resume = ResumeState(resume_path, fingerprint)
    start = 0
    if (state := resume.load()) is not None:
        start = run.restore(state)
        log.info("resumed from step %d of %d (%s)", start, iterations, resume.path)
    else:
        run.prepare()
    run.live.restart(sorted([*run.history, *run.scores], key=lambda r: r["step"]))
    progress = Progress(log, f"{model.family} step", iterations, start=start)
    for step in range(start, iterations):
        metrics = run.step(step)
        done = step + 1
        if done % log_every == 0 or done == iterations:
            run.history.append({"step": done, **run.logged(metrics)})
            run.live.append(run.history[-1])
        writes = run.rank == 0  # over ranks, rank 0 scores, draws grids and saves: the others hold its weights
        if writes and score is not None and eval_every > 0 and (done % eval_every == 0 or done == iterations):
            run.evaluate(done)
        if writes and grid_every > 0 and (done % grid_every == 0 or done == iterations):
            run.write_grid(done)
        progress.update(done, " ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
        if writes and done % checkpoint_every == 0 and done < iterations:
            resume.save(run.state(done))
    chosen, how = run.finish(iterations)
    if run.rank == 0:
        resume.clear()
    return {
        "history": run.history,
        "scores": run.scores,
        "chosen_step": chosen,
        "selection": how,
        "ema_decay": ema_decay,
    }
