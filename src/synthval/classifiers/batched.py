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
from synthval.runtime import Progress
from synthval.runtime import device as pick_device

log = logging.getLogger("synthval.classifiers")


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
    first = settings[0]
    if any({**asdict(s), "seed": 0, "extra": {}} != {**asdict(first), "seed": 0, "extra": {}} for s in settings):
        raise ValueError("fit_batched trains members of one configuration: their settings may differ only in the seed")
    dev = pick_device()
    work_dir = Path(work_dir)
    data = torch.as_tensor(images).permute(0, 3, 1, 2).contiguous().to(dev)
    targets = torch.as_tensor(labels, dtype=torch.long, device=dev)
    for model in models:
        model.to(dev).train()
        model.set_normalisation(data.float().div(255))
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    shapes = dict(models[0].named_parameters())
    decay = [
        p for name, p in params.items() if shapes[name].ndim > 1
    ]  # as make_optimizer: no decay on biases and norms
    no_decay = [p for name, p in params.items() if shapes[name].ndim <= 1]
    groups = [{"params": decay, "weight_decay": first.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    opt = (
        torch.optim.AdamW(groups, lr=first.lr)
        if first.optimizer == "adamw"
        else torch.optim.SGD(groups, lr=first.lr, momentum=first.momentum, nesterov=True)
    )
    gens = [torch.Generator().manual_seed(s.seed) for s in settings]
    resume = ResumeState(
        work_dir / "state.safetensors",
        {"members": [asdict(s) for s in settings], "n": len(data), "arch": models[0].arch, "config": models[0].config},
    )
    histories: list[list[dict]] = [[] for _ in models]
    start = 0
    if (state := resume.load()) is not None:
        with torch.no_grad():
            for name, t in {**params, **buffers}.items():
                t.copy_(state["tensors"][name])
        opt.load_state_dict(state["optimizer"])
        for g, g_state in zip(gens, state["generators"], strict=True):
            g.set_state(g_state)
        histories, start = state["histories"], state["epoch"]
        log.info("resumed after epoch %d of %d from %s", start, first.epochs, resume.path)
    live = LiveLog(work_dir / "history.jsonl")  # each member's epochs as they end, to watch a long job
    live.restart(sorted(({"member": k, **h} for k, hs in enumerate(histories) for h in hs), key=lambda r: r["epoch"]))

    def loss_of(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            logits = functional_call(base, (p, b), (x,))
            return F.cross_entropy(logits, y, label_smoothing=first.label_smoothing), logits

    def unstack() -> None:
        with torch.no_grad():
            for k, model in enumerate(models):
                model.load_state_dict({name: t[k] for name, t in {**params, **buffers}.items()})

    step = vmap(loss_of)
    steps_per_epoch = math.ceil(len(data) / first.batch_size)
    total = first.epochs * steps_per_epoch
    snapshots = [
        {e: work_dir / f"member{k}-epoch-{e:03d}.safetensors" for e in first.save_epochs} for k in range(len(models))
    ]
    progress = Progress(log, f"epoch ({len(models)} models batched)", first.epochs, every=5.0, start=start)
    for epoch in range(start, first.epochs):
        t0 = time.monotonic()
        orders = [torch.randperm(len(data), generator=g).to(dev) for g in gens]
        loss_sum = torch.zeros(len(models), device=dev)
        correct = torch.zeros(len(models), device=dev, dtype=torch.long)
        seen = 0
        for i in range(steps_per_epoch):
            for group in opt.param_groups:
                group["lr"] = first.lr_at(epoch * steps_per_epoch + i, total)
            idx = [o[i * first.batch_size : (i + 1) * first.batch_size] for o in orders]
            x = torch.stack(
                [
                    augment(data[j], first.crop_padding, first.flip, g).float().div_(255)
                    for j, g in zip(idx, gens, strict=True)
                ]
            )
            y = torch.stack([targets[j] for j in idx])
            losses, logits = step(params, buffers, x, y)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()  # no cross terms: each member's parameters get its own loss's gradient
            opt.step()
            loss_sum += losses.detach().float() * y.shape[1]
            correct += (logits.argmax(-1) == y).sum(1)
            seen += y.shape[1]
        seconds = time.monotonic() - t0
        for k, history in enumerate(histories):
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": loss_sum[k].item() / seen,
                    "train_accuracy": correct[k].item() / seen,
                    "seconds": seconds,
                }
            )
            live.append({"member": k, **history[-1]})
        if epoch + 1 in first.save_epochs:
            unstack()
            for model, s, snaps in zip(models, settings, snapshots, strict=True):
                save_classifier(snaps[epoch + 1], model, seed=s.seed, epoch=epoch + 1, train=s.extra)
        resume.save(
            {
                "tensors": {**params, **buffers},
                "optimizer": opt.state_dict(),
                "generators": [g.get_state() for g in gens],
                "histories": histories,
                "epoch": epoch + 1,
            }
        )
        progress.update(epoch + 1, f"loss={loss_sum.mean().item() / seen:.4f}")
    unstack()
    return histories, snapshots
