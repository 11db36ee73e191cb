"""A zoo member's training job (rules ``train_classifier``, ``train_reference``): the members of one zoo
configuration (its seeds on the train split and on the standard protocol's fit sub-split; the reference
classifier is a configuration of one), the members of each split batched on one device, keeping their
weights at the configured epochs and their per-epoch histories.

The members of a split are trained as one batch, and a member's bits depend (to float tolerance) on
the members batched with it; so a split is trained whole or not at all: when every member's outputs
exist and carry this job's training key (the same code, settings, seed and split data) the split is
kept as it is (the zoo's outputs are flagged ``update``, so Snakemake leaves them in place), and
otherwise all its members are trained again, so that every file equals a fresh run's. Deleting a fit
member's files thus retrains the fit split only, to the same bytes.

A split too large to hold (``data.stream``; synthval.data.stream) is streamed from its shards every epoch,
and its members train one after another; so do they with ``ranks`` > 1, each member as one distributed job
over the node's GPUs (synthval.classifiers.distributed), whose ranks run :func:`fit_member`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.classifiers.batched import fit_batched
from synthval.classifiers.distributed import run_ranks
from synthval.data import read_image_set
from synthval.data.stream import image_shape, should_stream, training_images
from synthval.io import IntegrityError, atomic_path, read_json, read_metadata, write_frame
from synthval.live import read_live_log
from synthval.runtime import setup

log = logging.getLogger("synthval")


def fit_member(
    spec: dict,
    seed: int,
    num_classes: int,
    manifest: str,
    settings: dict,
    work_dir: str,
    loading: dict,
    streamed: bool,
) -> None:
    """Train one zoo member (``spec``: :func:`synthval.zoo.training_spec`) on its split as a rank of a
    distributed job: the same seeded model on every rank, the split held or streamed (``loading``:
    synthval.plan.stage.Stage.loading), trained with ``settings`` (:class:`TrainSettings`' fields). Its
    history and weights are in ``work_dir`` (rank 0 writes them)."""
    h, _, c = image_shape(manifest)
    model = create_classifier(spec["arch"], num_classes, c, h, seed=seed, **spec["hparams"])
    images, labels = training_images(manifest, loading, seed, streamed)
    fit(model, images, labels, TrainSettings(**settings), work_dir)


def run(snakemake: Any) -> None:
    """The job: each split of the configuration kept when its members' outputs carry this job's training
    key, else its members trained together (:func:`train_split`), their files written last."""
    p = snakemake.params
    setup(snakemake.threads, log_file=snakemake.log[0], accelerator=p.accelerator)
    weights, histories = list(snakemake.output.weights), list(snakemake.output.histories)
    per = len(p.save_epochs)
    if len(weights) != per * len(p.members) or len(histories) != len(p.members):
        raise ValueError(f"{len(weights)} weights and {len(histories)} histories for {len(p.members)} members")
    outputs = {m["name"]: (weights[i * per : (i + 1) * per], histories[i]) for i, m in enumerate(p.members)}
    manifests = {split: getattr(snakemake.input, split) for split in dict.fromkeys(m["split"] for m in p.members)}
    for split, manifest in manifests.items():
        group = [m for m in p.members if m["split"] == split]
        streamed = should_stream(manifest, p.loading)
        data = hashlib.sha256(Path(manifest).read_bytes()).hexdigest()
        keys = {m["name"]: training_key(p, m, data, streamed) for m in group}
        if stale := [m["name"] for m in group if not is_current(outputs[m["name"]], keys[m["name"]])]:
            log.info(
                "%s to (re)train: training the %s split's %d members together", ", ".join(stale), split, len(group)
            )
        else:
            log.info(
                "kept %s: their outputs carry this job's training key (delete a member's files to retrain its split)",
                ", ".join(m["name"] for m in group),
            )
            continue
        # batched as a fresh run batches them, so every member's bits are a fresh run's
        results = train_split(p, group, keys, manifest, split, streamed)
        for member, (history, snapshots) in zip(group, results, strict=True):
            files, history_file = outputs[member["name"]]
            for epoch, out in zip(p.save_epochs, files, strict=True):
                with atomic_path(out) as tmp:
                    shutil.copyfile(snapshots[epoch], tmp)
            write_frame(history_file, pl.DataFrame(history).with_columns(model=pl.lit(member["name"])))
    shutil.rmtree(Path(p.workdir), ignore_errors=True)  # outputs are complete: the resume state has served


def training_key(p: Any, member: dict, data: str, streamed: bool) -> str:
    """What a member's weights depend on: code, settings, its seed and its split's data (sha256 ``data``)."""
    what = {
        "code": p.code,
        "spec": p.spec,
        "save_epochs": p.save_epochs,
        "seed": member["seed"],
        "split": member["split"],
        "data": data,
    }
    if streamed:  # another order of the same images: other weights
        what["stream"] = {k: p.loading[k] for k in ("shuffle_buffer", "loader_workers")}
    if p.ranks > 1:  # another summation order, and not batched with its seeds
        what["ranks"] = p.ranks
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def is_current(outputs: tuple[list[str], str], key: str) -> bool:
    """Whether a member's weights and history exist and its weights carry training key ``key``."""
    files, history = outputs
    if not all(Path(f).is_file() for f in [*files, history]):
        return False
    try:
        return all(read_metadata(f).get("train", {}).get("key") == key for f in files)
    except IntegrityError:
        return False


def train_split(
    p: Any, group: list[dict], keys: dict[str, str], manifest: str, split: str, streamed: bool
) -> list[tuple[list[dict], dict[int, Path]]]:
    """Train the members ``group`` of one split (batched on one device; one after another when streamed or
    over ranks); each member's history and its weights files by epoch."""
    spec, save_epochs, workdir = p.spec, p.save_epochs, Path(p.workdir)
    info = read_json(manifest)
    num_classes, (h, _, c) = info["num_classes"], info["image_shape"]
    settings = [
        TrainSettings(
            **spec["train"],
            save_epochs=save_epochs,
            seed=m["seed"],
            extra={"split": manifest, "name": m["name"], "key": keys[m["name"]]},
        )
        for m in group
    ]
    how = (
        f", each over {p.ranks} ranks, one member after another"
        if p.ranks > 1
        else ", streamed from its shards, one member after another"
        if streamed
        else f", {len(group)} batched on one device"
        if len(group) > 1
        else ""
    )
    log.info(
        "training %s (%s %s, seeds %s) on %d images of %s for %d epochs%s",
        ", ".join(m["name"] for m in group),
        spec["arch"],
        spec["hparams"],
        [m["seed"] for m in group],
        info["count"],
        manifest,
        settings[0].epochs,
        how,
    )
    if p.ranks > 1 or streamed:  # one member at a time: over the node's ranks, or streamed here
        results = []
        for m, s in zip(group, settings, strict=True):
            work = workdir / m["name"]
            member = (spec, m["seed"], num_classes, manifest, asdict(s), str(work), p.loading, streamed)
            if p.ranks > 1:  # one distributed job (synthval.classifiers.distributed); rank 0 writes its files
                run_ranks(p.ranks, 1, "synthval.jobs.classifier:fit_member", *member)
            else:
                fit_member(*member)
            snapshots = {e: work / f"epoch-{e:03d}.safetensors" for e in save_epochs}
            results.append((read_live_log(work / "history.jsonl"), snapshots))
        return results
    train = read_image_set(manifest)
    models = [create_classifier(spec["arch"], num_classes, c, h, seed=m["seed"], **spec["hparams"]) for m in group]
    if len(group) == 1:
        return [fit(models[0], train.images, train.labels, settings[0], workdir / group[0]["name"])]
    return list(zip(*fit_batched(models, train.images, train.labels, settings, workdir / split), strict=True))
