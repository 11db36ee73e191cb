"""train_recipe: train one run of the training-with-generated-data study (synthval.recipes) with one
seed, then score it on the real test split (and under PGD in the robust setting) and, for the
content-gap analysis (seed 001 Observation 3), on the training samples of the other source: a
real-trained run on every generator's synthetic training set, a synthetic-trained run on the real
train split. The test split is read only after training ends. As a LiRA model (train_lira: trained on
one half of the pool), it also records the logit-scaled confidence of every pool image.

A real or synthetic set too large to hold (``data.stream``; synthval.data.stream) is streamed from its
shards; every evaluation set is streamed once, batch by batch, with the same numbers as a whole read."""

import shutil
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import torch

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit, load_classifier, state_digest
from synthval.data.stream import image_shape, training_images
from synthval.evaluation.predict import map_set, predict_logits, predict_under_attack, predict_with_loss
from synthval.io import atomic_path, read_json, write_frame
from synthval.metrics.membership import logit_confidence
from synthval.recipes import Run
from synthval.runtime import device, setup

p = snakemake.params
inp = snakemake.input
log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0], accelerator=p.accelerator)
run = Run(**p.run)
spec, robust, workdir = p.spec, p.robust, Path(p.workdir)


def training_set(manifest: str) -> tuple:
    """A training set as fit takes it (synthval.data.stream.training_images), saying when it is streamed."""
    images, labels = training_images(manifest, p.loading, p.seed)
    if labels is None:
        log.info("%s: streamed from its shards every epoch (data.stream)", manifest)
    return images, labels


real = training_set(inp.real) if run.uses_real else None
synthetic = training_set(inp.synthetic) if run.uses_synthetic else None
num_classes = read_json(inp.test)["num_classes"]
h, w, c = image_shape(inp.real if run.uses_real else inp.synthetic)
guide = load_classifier(inp.guide, device())[0] if run.pretrained_guidance else None
pg, rg = p.pretrained_guidance, p.real_guidance
guidance = Guidance(
    guide=guide,
    pg_weight=pg["weight"],
    pg_distance=pg["distance"],
    pg_loss=pg["loss"],
    pg_on=tuple(pg["on"]),
    real_guidance=run.real_guidance,
    lambda_real=rg["lambda_real"],
    lambda_synthetic=rg["lambda_synthetic"],
    adversarial={k: robust[k] for k in ("epsilon", "step_size", "steps")} if robust["enabled"] else None,
)
# every run of one seed starts from these weights, whatever the run loaded before (its PG guide): the
# report pairs runs by seed; init_sha256 in the history lets that be checked
model = create_classifier(spec["arch"], num_classes, c, h, seed=p.seed, **spec["hparams"])
init = state_digest(model)
replicate = p.replicate  # the study seed, or the LiRA model (its pool half)
extra = {"run": run.name, "recipe": run.recipe}
settings = TrainSettings(**spec["train"], save_epochs=[spec["train"]["epochs"]], seed=p.seed, extra=extra)
log.info(
    "run %s (%s), seed %d (%d): %s on %s real and %s synthetic images",
    run.name,
    run.recipe,
    replicate,
    p.seed,
    spec["arch"],
    read_json(inp.real)["count"] if run.uses_real else 0,
    read_json(inp.synthetic)["count"] if run.uses_synthetic else 0,
)
histories = []
if run.data == "synthetic>real":
    pre = TrainSettings(
        **{**spec["train"], "epochs": run.pretrain_epochs}, save_epochs=[run.pretrain_epochs], seed=p.seed, extra=extra
    )
    history, _ = fit(model, *synthetic, pre, workdir / "stage1", source="synthetic", guidance=guidance)
    histories.append(pl.DataFrame(history).with_columns(stage=pl.lit("synthetic")))
    history, snapshots = fit(model, *real, settings, workdir / "stage2", guidance=guidance, normalise=False)
    histories.append(pl.DataFrame(history).with_columns(stage=pl.lit("real")))
elif run.data == "synthetic":
    history, snapshots = fit(model, *synthetic, settings, workdir, source="synthetic", guidance=guidance)
    histories.append(pl.DataFrame(history).with_columns(stage=pl.lit("synthetic")))
else:
    mix = None
    if run.data == "real+synthetic":  # held images and labels, or a stream
        mix = synthetic if synthetic[1] is not None else synthetic[0]
    history, snapshots = fit(model, *real, settings, workdir, synthetic=mix, ratio=run.ratio, guidance=guidance)
    histories.append(pl.DataFrame(history).with_columns(stage=pl.lit(run.data)))

# evaluation: the test split, and the other source's training samples (content gap)
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
                {"eval_set": name, "key": keys, "label": labels, "prediction": pred, "confidence": conf, "loss": loss}
            )
        )
        accuracy = float((pred == labels).mean())
        log.info("%s: accuracy %.4f, mean loss %.4f on %d images", name, accuracy, float(loss.mean()), len(keys))
if "pool" in inp.keys():  # a LiRA model: the logit-scaled confidence of every pool image (synthval.metrics.membership)
    keys, labels, outcomes = map_set(inp.pool, {"logits": lambda x, y: (predict_logits(model, x),)})
    phi = logit_confidence(outcomes["logits"][0], labels)
    tables.append(pl.DataFrame({"eval_set": "pool", "key": keys, "label": labels, "phi": phi}))
    log.info("pool: logit-scaled confidence of %d images, median %.2f", len(keys), float(np.median(phi)))
table = pl.concat(tables, how="diagonal").with_columns(run=pl.lit(run.name), seed=pl.lit(replicate, pl.Int64))
write_frame(snakemake.output.predictions, table)
with atomic_path(snakemake.output.weights) as tmp:
    shutil.copyfile(snapshots[settings.epochs], tmp)
write_frame(
    snakemake.output.history,
    pl.concat(histories, how="diagonal").with_columns(
        run=pl.lit(run.name), seed=pl.lit(replicate, pl.Int64), init_sha256=pl.lit(init)
    ),
)
shutil.rmtree(workdir)  # outputs are complete: the resume state has served its purpose
