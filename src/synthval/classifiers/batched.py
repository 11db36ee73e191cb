"""Several members of one configuration (same architecture and settings, different seeds) trained at
once on one device: their parameters are stacked (:func:`torch.func.stack_module_state`) and one
``vmap``-ed step trains them all, each on its own data order and augmentation. A zoo's seconds-long
trainings then share one process and one device instead of one each; on CPU every member ends with
the weights :func:`synthval.classifiers.trainer.fit` gives it alone, to float tolerance.

Real-only training with the zoo's recipe (no synthetic mix or guidance): what the zoo's members need.
Weights of the saved epochs and a resume state are written as :func:`~synthval.classifiers.trainer.fit`
writes them. BatchNorm's running statistics are stacked buffers, updated in place under ``vmap``.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from synthval.checkpoint import ResumeState
from synthval.classifiers.registry import Classifier, save_classifier
from synthval.classifiers.trainer import TrainSettings, augment
from synthval.live import LiveLog
from synthval.runtime import Progress, accelerator
from synthval.runtime import device as pick_device

log = logging.getLogger("synthval.classifiers")


class _BatchedTraining:
    """The stacked members' state and steps, in the order :func:`fit_batched` takes them: an epoch of
    vmapped steps (:meth:`epoch`), the resume state (:meth:`state`, :meth:`restore`) and each member's
    weights back in its own module (:meth:`unstack`)."""

    def __init__(self, models: list[Classifier], images: np.ndarray, labels: np.ndarray, settings: list[TrainSettings]):
        first = settings[0]
        if any({**asdict(s), "seed": 0, "extra": {}} != {**asdict(first), "seed": 0, "extra": {}} for s in settings):
            raise ValueError(
                "fit_batched trains members of one configuration: their settings may differ only in the seed"
            )
        self.models, self.settings, self.first = models, settings, first
        self.dev = dev = pick_device()
        self.accel = accelerator()  # precision and loss scaling; channels-last and compile are single-network
        self.scaler = self.accel.scaler(dev)
        self.data = torch.as_tensor(images).permute(0, 3, 1, 2).contiguous().to(dev)
        self.targets = torch.as_tensor(labels, dtype=torch.long, device=dev)
        for model in models:
            model.to(dev).train()
            model.set_normalisation(self.data.float().div(255))
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        shapes = dict(models[0].named_parameters())
        # as make_optimizer: no decay on biases and norms
        decay = [p for name, p in self.params.items() if shapes[name].ndim > 1]
        no_decay = [p for name, p in self.params.items() if shapes[name].ndim <= 1]
        groups = [{"params": decay, "weight_decay": first.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        self.opt = (
            torch.optim.AdamW(groups, lr=first.lr)
            if first.optimizer == "adamw"
            else torch.optim.SGD(groups, lr=first.lr, momentum=first.momentum, nesterov=True)
        )
        self.gens = [torch.Generator().manual_seed(s.seed) for s in settings]
        self.step = vmap(self._loss)
        self.steps_per_epoch = math.ceil(len(self.data) / first.batch_size)
        self.total = first.epochs * self.steps_per_epoch

    def fingerprint(self) -> dict:
        model = self.models[0]
        return {
            "members": [asdict(s) for s in self.settings],
            "n": len(self.data),
            "arch": model.arch,
            "config": model.config,
        }

    def state(self, histories: list[list[dict]], epoch: int) -> dict:
        return {
            "tensors": {**self.params, **self.buffers},
            "optimizer": self.opt.state_dict(),
            "generators": [g.get_state() for g in self.gens],
            "histories": histories,
            "epoch": epoch,
        } | ({"scaler": self.scaler.state_dict()} if self.scaler.is_enabled() else {})

    def restore(self, state: dict) -> tuple[list[list[dict]], int]:
        """Load a resume state; return the members' histories and the number of epochs it finished."""
        with torch.no_grad():
            for name, t in {**self.params, **self.buffers}.items():
                t.copy_(state["tensors"][name])
        self.opt.load_state_dict(state["optimizer"])
        for g, g_state in zip(self.gens, state["generators"], strict=True):
            g.set_state(g_state)
        if self.scaler.is_enabled() and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        return state["histories"], state["epoch"]

    def _loss(self, p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self.accel.autocast(self.dev):
            logits = functional_call(self.base, (p, b), (x,))
            return F.cross_entropy(logits, y, label_smoothing=self.first.label_smoothing), logits

    def unstack(self) -> None:
        with torch.no_grad():
            for k, model in enumerate(self.models):
                model.load_state_dict({name: t[k] for name, t in {**self.params, **self.buffers}.items()})

    def epoch(self, epoch: int) -> tuple[list[dict], float]:
        """One pass over the images, each member in its own seeded order; returns each member's history
        row and the members' mean loss."""
        first, data, dev = self.first, self.data, self.dev
        t0 = time.monotonic()
        orders = [torch.randperm(len(data), generator=g).to(dev) for g in self.gens]
        loss_sum = torch.zeros(len(self.models), device=dev)
        correct = torch.zeros(len(self.models), device=dev, dtype=torch.long)
        seen = 0
        for i in range(self.steps_per_epoch):
            for group in self.opt.param_groups:
                group["lr"] = first.lr_at(epoch * self.steps_per_epoch + i, self.total)
            idx = [o[i * first.batch_size : (i + 1) * first.batch_size] for o in orders]
            x = torch.stack(
                [
                    augment(data[j], first.crop_padding, first.flip, g).float().div_(255)
                    for j, g in zip(idx, self.gens, strict=True)
                ]
            )
            y = torch.stack([self.targets[j] for j in idx])
            losses, logits = self.step(self.params, self.buffers, x, y)
            self.opt.zero_grad(set_to_none=True)
            # no cross terms: each member's parameters get its own loss's gradient
            self.scaler.scale(losses.sum()).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
            loss_sum += losses.detach().float() * y.shape[1]
            correct += (logits.argmax(-1) == y).sum(1)
            seen += y.shape[1]
        seconds = time.monotonic() - t0
        rows = [
            {
                "epoch": epoch + 1,
                "loss": loss_sum[k].item() / seen,
                "train_accuracy": correct[k].item() / seen,
                "seconds": seconds,
            }
            for k in range(len(self.models))
        ]
        return rows, loss_sum.mean().item() / seen


def fit_batched(
    models: list[Classifier],
    images: np.ndarray,
    labels: np.ndarray,
    settings: list[TrainSettings],
    work_dir: str | Path,
) -> tuple[list[list[dict]], list[dict[int, Path]]]:
    """Train ``models`` (one architecture; ``settings`` equal but for their seeds and ``extra``) on uint8
    NHWC ``images``, all at once; each model's weights are replaced by its trained ones. Returns each
    model's per-epoch history and weights file of every epoch in ``save_epochs``, as
    :func:`~synthval.classifiers.trainer.fit` does; the resume state lives in ``work_dir`` too, so a
    killed job resumes after its last finished epoch to the weights of an uninterrupted run."""
    run = _BatchedTraining(models, images, labels, settings)
    first, work_dir = settings[0], Path(work_dir)
    resume = ResumeState(work_dir / "state.safetensors", run.fingerprint())
    histories: list[list[dict]] = [[] for _ in models]
    start = 0
    if (state := resume.load()) is not None:
        histories, start = run.restore(state)
        log.info("resumed after epoch %d of %d from %s", start, first.epochs, resume.path)
    live = LiveLog(work_dir / "history.jsonl")  # each member's epochs as they end, to watch a long job
    live.restart(sorted(({"member": k, **h} for k, hs in enumerate(histories) for h in hs), key=lambda r: r["epoch"]))
    snapshots = [
        {e: work_dir / f"member{k}-epoch-{e:03d}.safetensors" for e in first.save_epochs} for k in range(len(models))
    ]
    progress = Progress(log, f"epoch ({len(models)} models batched)", first.epochs, every=5.0, start=start)
    for epoch in range(start, first.epochs):
        rows, mean_loss = run.epoch(epoch)
        for k, (history, row) in enumerate(zip(histories, rows, strict=True)):
            history.append(row)
            live.append({"member": k, **row})
        if epoch + 1 in first.save_epochs:
            run.unstack()
            for model, s, snaps in zip(models, settings, snapshots, strict=True):
                save_classifier(snaps[epoch + 1], model, seed=s.seed, epoch=epoch + 1, train=s.extra)
        resume.save(run.state(histories, epoch + 1))
        progress.update(epoch + 1, f"loss={mean_loss:.4f}")
    run.unstack()
    return histories, snapshots
