"""train_classifier (and train_reference): train the members of one zoo configuration (its seeds on the
train split and on the standard protocol's fit sub-split; the reference classifier is a configuration
of one), the members of each split batched on one device, keeping their weights at the configured
epochs and their per-epoch histories.

The members of a split are trained as one batch, and a member's bits depend (to float tolerance) on
the members batched with it; so a split is trained whole or not at all: when every member's outputs
exist and carry this job's training key (the same code, settings, seed and split data) the split is
kept as it is (the zoo's outputs are flagged ``update``, so Snakemake leaves them in place), and
otherwise all its members are trained again, so that every file equals a fresh run's. Deleting a fit
member's files thus retrains the fit split only, to the same bytes.

A split too large to hold (``data.stream``; synthval.data.stream) is streamed from its shards every epoch,
and its members train one after another; so do they with ``ranks`` > 1, each member as one distributed job
over the node's GPUs (synthval.classifiers.distributed).
"""

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import polars as pl

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.classifiers.batched import fit_batched
from synthval.classifiers.distributed import run_ranks
from synthval.data import read_image_set
from synthval.data.stream import should_stream
from synthval.io import IntegrityError, atomic_path, read_json, read_metadata, write_frame
from synthval.jobs.classifier import fit_member
from synthval.live import read_live_log
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0], accelerator=p.accelerator)
spec, save_epochs, workdir = p.spec, p.save_epochs, Path(p.workdir)
weights, histories = list(snakemake.output.weights), list(snakemake.output.histories)
per = len(save_epochs)
assert len(weights) == per * len(p.members), "outputs and members disagree"
assert len(histories) == len(p.members), "outputs and members disagree"
outputs = {m["name"]: (weights[i * per : (i + 1) * per], histories[i]) for i, m in enumerate(p.members)}
data_digest = {
    split: hashlib.sha256(Path(getattr(snakemake.input, split)).read_bytes()).hexdigest()
    for split in {m["split"] for m in p.members}
}
streamed = {split: should_stream(getattr(snakemake.input, split), p.loading) for split in data_digest}


def training_key(member: dict) -> str:
    """What a member's weights depend on: code, settings, its seed and its split's data."""
    what = {
        "code": p.code,
        "spec": spec,
        "save_epochs": save_epochs,
        "seed": member["seed"],
        "split": member["split"],
        "data": data_digest[member["split"]],
    }
    if streamed[member["split"]]:  # another order of the same images: other weights
        what["stream"] = {k: p.loading[k] for k in ("shuffle_buffer", "loader_workers")}
    if p.ranks > 1:  # another summation order, and not batched with its seeds
        what["ranks"] = p.ranks
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def is_current(member: dict, key: str) -> bool:
    files, history = outputs[member["name"]]
    if not all(Path(f).is_file() for f in [*files, history]):
        return False
    try:
        return all(read_metadata(f).get("train", {}).get("key") == key for f in files)
    except IntegrityError:
        return False


for split in dict.fromkeys(m["split"] for m in p.members):
    group = [m for m in p.members if m["split"] == split]
    keys = {m["name"]: training_key(m) for m in group}
    if stale := [m["name"] for m in group if not is_current(m, keys[m["name"]])]:
        todo = group  # batched as a fresh run batches them, so every member's bits are a fresh run's
        log.info("%s to (re)train: training the %s split's %d members together", ", ".join(stale), split, len(group))
    else:
        log.info(
            "kept %s: their outputs carry this job's training key (delete a member's files to retrain its split)",
            ", ".join(m["name"] for m in group),
        )
        continue
    manifest = getattr(snakemake.input, split)
    info = read_json(manifest)
    num_classes, (h, w, c) = info["num_classes"], info["image_shape"]
    settings = [
        TrainSettings(
            **spec["train"],
            save_epochs=save_epochs,
            seed=m["seed"],
            extra={"split": manifest, "name": m["name"], "key": keys[m["name"]]},
        )
        for m in todo
    ]
    log.info(
        "training %s (%s %s, seeds %s) on %d images of %s for %d epochs%s",
        ", ".join(m["name"] for m in todo),
        spec["arch"],
        spec["hparams"],
        [m["seed"] for m in todo],
        info["count"],
        manifest,
        settings[0].epochs,
        f", each over {p.ranks} ranks, one member after another"
        if p.ranks > 1
        else ", streamed from its shards, one member after another"
        if streamed[split]
        else f", {len(todo)} batched on one device"
        if len(todo) > 1
        else "",
    )
    if p.ranks > 1 or streamed[split]:  # one member at a time: over the node's ranks, or streamed here
        results = []
        for m, s in zip(todo, settings, strict=True):
            work = workdir / m["name"]
            member = (spec, m["seed"], num_classes, manifest, asdict(s), str(work), p.loading, streamed[split])
            if p.ranks > 1:  # one distributed job (synthval.classifiers.distributed); rank 0 writes its files
                run_ranks(p.ranks, 1, "synthval.jobs.classifier:fit_member", *member)
            else:
                fit_member(*member)
            results.append(
                (read_live_log(work / "history.jsonl"), {e: work / f"epoch-{e:03d}.safetensors" for e in save_epochs})
            )
    else:
        train = read_image_set(manifest)
        models = [create_classifier(spec["arch"], num_classes, c, h, seed=m["seed"], **spec["hparams"]) for m in todo]
        if len(todo) == 1:
            results = [fit(models[0], train.images, train.labels, settings[0], workdir / todo[0]["name"])]
        else:
            results = list(
                zip(*fit_batched(models, train.images, train.labels, settings, workdir / split), strict=True)
            )
    for member, (history, snapshots) in zip(todo, results, strict=True):
        files, history_file = outputs[member["name"]]
        for epoch, out in zip(save_epochs, files, strict=True):
            with atomic_path(out) as tmp:
                shutil.copyfile(snapshots[epoch], tmp)
        write_frame(history_file, pl.DataFrame(history).with_columns(model=pl.lit(member["name"])))
shutil.rmtree(workdir, ignore_errors=True)  # outputs are complete: the resume state has served its purpose
