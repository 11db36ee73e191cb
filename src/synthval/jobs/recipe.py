"""One run of the training study (rules ``train_recipe``, ``train_lira``): its training, in the job's
process or over ranks. The job then scores the weights it leaves in its work folder."""

from __future__ import annotations

import logging
import shutil
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl
import torch

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit, load_classifier, state_digest
from synthval.classifiers.distributed import run_ranks
from synthval.data.stream import image_shape, training_images
from synthval.evaluation.predict import map_set, predict_logits, predict_under_attack, predict_with_loss
from synthval.io import atomic_path, read_json, write_frame
from synthval.live import read_live_log
from synthval.metrics.membership import logit_confidence
from synthval.recipes import Run
from synthval.runtime import device, setup

if TYPE_CHECKING:
    from synthval.data.stream import ShardStream

log = logging.getLogger("synthval.jobs")


def run_stages(run: Run, workdir: str | Path) -> list[tuple[str, Path]]:
    """Where each training stage of ``run`` keeps its history and weights, with the data it trains on:
    ``synthetic>real`` has two, every other recipe one (the last stage's weights are the run's)."""
    workdir = Path(workdir)
    if run.data == "synthetic>real":
        return [("synthetic", workdir / "stage1"), ("real", workdir / "stage2")]
    return [(run.data, workdir)]


def _training_set(manifest: str, loading: dict, seed: int) -> tuple[np.ndarray | ShardStream, np.ndarray | None]:
    """A training set as fit takes it (synthval.data.stream.training_images), saying when it is streamed."""
    images, labels = training_images(manifest, loading, seed)
    if labels is None:
        log.info("%s: streamed from its shards every epoch (data.stream)", manifest)
    return images, labels


def _held(
    data: tuple[np.ndarray | ShardStream, np.ndarray | None] | tuple[None, None],
) -> tuple[np.ndarray | ShardStream, np.ndarray | None]:
    """A training set the run's recipe uses (read above: never the unused one's ``(None, None)``)."""
    images, labels = data
    if images is None:
        raise ValueError("the recipe trains on a set it does not use")
    return images, labels


def _guidance(run: Run, inputs: dict, guidance: dict) -> Guidance:
    """The run's Pretrained Guidance, Real Guidance and PGD settings (the rule's params)."""
    pg, rg, robust = guidance["pretrained_guidance"], guidance["real_guidance"], guidance["robust"]
    return Guidance(
        guide=load_classifier(inputs["guide"], device())[0] if run.pretrained_guidance else None,
        pg_weight=pg["weight"],
        pg_distance=pg["distance"],
        pg_loss=pg["loss"],
        pg_on=tuple(pg["on"]),
        real_guidance=run.real_guidance,
        lambda_real=rg["lambda_real"],
        lambda_synthetic=rg["lambda_synthetic"],
        adversarial={k: robust[k] for k in ("epsilon", "step_size", "steps")} if robust["enabled"] else None,
    )


def new_model(run: Run, spec: dict, seed: int, inputs: dict):
    """The run's network before training: every run of one seed starts from these weights."""
    h, _, c = image_shape(inputs["real"] if run.uses_real else inputs["synthetic"])
    return create_classifier(spec["arch"], read_json(inputs["test"])["num_classes"], c, h, seed=seed, **spec["hparams"])


def train_run(fields: dict, spec: dict, seed: int, inputs: dict, loading: dict, guidance: dict, workdir: str) -> None:
    """Train one run of the study (``fields``: a :class:`synthval.recipes.Run`'s fields; ``spec``: the
    study's network and trainer settings; ``inputs``: the rule's input paths by name; ``guidance``: its
    ``pretrained_guidance``, ``real_guidance`` and ``robust`` settings) with ``seed``, leaving each stage's
    history and weights in :func:`run_stages`' folders. Plain data in, so a rank can run it."""
    run = Run(**fields)
    none: tuple[None, None] = (None, None)
    real = _training_set(inputs["real"], loading, seed) if run.uses_real else none
    synthetic = _training_set(inputs["synthetic"], loading, seed) if run.uses_synthetic else none
    model, guide = new_model(run, spec, seed, inputs), _guidance(run, inputs, guidance)
    extra = {"run": run.name, "recipe": run.recipe}
    settings = TrainSettings(**spec["train"], save_epochs=[spec["train"]["epochs"]], seed=seed, extra=extra)
    stages = run_stages(run, workdir)
    if run.data == "synthetic>real":
        epochs = int(run.pretrain_epochs or 0)
        pre = TrainSettings(**{**spec["train"], "epochs": epochs}, save_epochs=[epochs], seed=seed, extra=extra)
        fit(model, *_held(synthetic), pre, stages[0][1], source="synthetic", guidance=guide)
        fit(model, *_held(real), settings, stages[1][1], guidance=guide, normalise=False)
    elif run.data == "synthetic":
        fit(model, *_held(synthetic), settings, stages[0][1], source="synthetic", guidance=guide)
    else:
        mix: tuple[np.ndarray, np.ndarray] | ShardStream | None = None
        if run.data == "real+synthetic":  # held images and labels, or a stream (no labels held)
            images, labels = _held(synthetic)
            mix = cast("ShardStream", images) if labels is None else (cast("np.ndarray", images), labels)
        fit(model, *_held(real), settings, stages[0][1], synthetic=mix, ratio=run.ratio, guidance=guide)


def run(snakemake: Any) -> None:
    """train_recipe: train one run of the training-with-generated-data study (synthval.recipes) with one
    seed, then score it on the real test split (and under PGD in the robust setting) and, for the
    content-gap analysis (Wang et al. 2024 Observation 3), on the training samples of the other source: a
    real-trained run on every generator's synthetic training set, a synthetic-trained run on the real
    train split. The test split is read only after training ends. As a LiRA model (train_lira: trained on
    one half of the pool), it also records the logit-scaled confidence of every pool image.

    A real or synthetic set too large to hold (``data.stream``; synthval.data.stream) is streamed from its
    shards; every evaluation set is streamed once, batch by batch, with the same numbers as a whole read."""
    p = snakemake.params
    inp = snakemake.input
    log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0], accelerator=p.accelerator)
    run = Run(**p.run)
    spec, robust, workdir = p.spec, p.robust, Path(p.workdir)
    inputs = {k: str(v) for k, v in inp.items()}
    # every run of one seed starts from the same weights, whatever the run loaded before (its PG guide): the
    # report pairs runs by seed; init_sha256 in the history lets that be checked
    init = state_digest(new_model(run, spec, p.seed, inputs))
    replicate = p.replicate  # the study seed, or the LiRA model (its pool half)
    log.info(
        "run %s (%s), seed %d (%d): %s on %s real and %s synthetic images%s",
        run.name,
        run.recipe,
        replicate,
        p.seed,
        spec["arch"],
        read_json(inp.real)["count"] if run.uses_real else 0,
        read_json(inp.synthetic)["count"] if run.uses_synthetic else 0,
        f", over {p.ranks} ranks" if p.ranks > 1 else "",
    )
    guidance = {"pretrained_guidance": p.pretrained_guidance, "real_guidance": p.real_guidance, "robust": robust}
    job = (p.run, spec, p.seed, inputs, p.loading, guidance, str(workdir))
    if p.ranks > 1:  # one distributed job (synthval.jobs.recipe); rank 0 writes the histories and weights
        run_ranks(p.ranks, 1, "synthval.jobs.recipe:train_run", *job)
    else:
        train_run(*job)
    stages = run_stages(run, workdir)
    histories = [
        pl.DataFrame(read_live_log(folder / "history.jsonl")).with_columns(stage=pl.lit(data))
        for data, folder in stages
    ]
    trained = stages[-1][1] / f"epoch-{spec['train']['epochs']:03d}.safetensors"
    model = load_classifier(trained, device())[0]

    tables = evaluate(model, p, inp)
    table = pl.concat(tables, how="diagonal").with_columns(run=pl.lit(run.name), seed=pl.lit(replicate, pl.Int64))
    write_frame(snakemake.output.predictions, table)
    with atomic_path(snakemake.output.weights) as tmp:
        shutil.copyfile(trained, tmp)
    write_frame(
        snakemake.output.history,
        pl.concat(histories, how="diagonal").with_columns(
            run=pl.lit(run.name), seed=pl.lit(replicate, pl.Int64), init_sha256=pl.lit(init)
        ),
    )
    shutil.rmtree(workdir)  # outputs are complete: the resume state has served its purpose


def evaluate(model: torch.nn.Module, p: Any, inp: Any) -> list[pl.DataFrame]:
    """The trained run's predictions, confidences and losses on the test split (under PGD too in the robust
    setting) and on the other source's training samples (the content gap), and for a LiRA model the
    logit-scaled confidence of every pool image (synthval.metrics.membership); ``p`` and ``inp``: the job's
    params and inputs."""
    log = logging.getLogger("synthval")
    robust = p.robust
    eval_sets = {"test": inp.test, **{name: inp[key] for key, name in p.gap_sets.items()}}
    tables = []
    for eval_set, manifest in eval_sets.items():
        functions = {eval_set: partial(predict_with_loss, model)}
        if robust["enabled"] and eval_set == "test":
            functions["test_pgd"] = partial(
                predict_under_attack,
                model,
                epsilon=robust["epsilon"],
                step_size=robust["step_size"],
                steps=robust["eval_steps"],
                seed=torch.Generator().manual_seed(p.seed),  # its random starts carry on from batch to batch
            )
        keys, labels, outcomes = map_set(manifest, functions)
        for name, (pred, conf, loss) in outcomes.items():
            tables.append(
                pl.DataFrame(
                    {
                        "eval_set": name,
                        "key": keys,
                        "label": labels,
                        "prediction": pred,
                        "confidence": conf,
                        "loss": loss,
                    }
                )
            )
            accuracy = float((pred == labels).mean())
            log.info("%s: accuracy %.4f, mean loss %.4f on %d images", name, accuracy, float(loss.mean()), len(keys))
    if "pool" in inp.keys():  # a LiRA model: the logit-scaled confidence of every pool image (membership)
        queries = {"phi": lambda x, y: (predict_logits(model, x),)}
        if p.mirror:  # the reference's second query: the image mirrored left to right (NHWC: the width axis)
            queries["phi_mirror"] = lambda x, y: (predict_logits(model, np.ascontiguousarray(x[:, :, ::-1])),)
        keys, labels, outcomes = map_set(inp.pool, queries)
        pool = {name: logit_confidence(outcome[0], labels) for name, outcome in outcomes.items()}
        tables.append(pl.DataFrame({"eval_set": "pool", "key": keys, "label": labels, **pool}))
        log.info("pool: logit-scaled confidence of %d images (%s)", len(keys), ", ".join(pool))
    return tables
