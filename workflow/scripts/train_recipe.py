"""train_recipe: train one run of the training-with-generated-data study (synthval.recipes) with one
seed, then score it on the real test split (and under PGD in the robust setting) and, for the
content-gap analysis (Wang et al. 2024 Observation 3), on the training samples of the other source: a
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

from synthval.classifiers import load_classifier, state_digest
from synthval.classifiers.distributed import run_ranks
from synthval.evaluation.predict import map_set, predict_logits, predict_under_attack, predict_with_loss
from synthval.io import atomic_path, read_json, write_frame
from synthval.jobs.recipe import new_model, run_stages, train_run
from synthval.live import read_live_log
from synthval.metrics.membership import logit_confidence
from synthval.recipes import Run
from synthval.runtime import device, setup

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
    pl.DataFrame(read_live_log(folder / "history.jsonl")).with_columns(stage=pl.lit(data)) for data, folder in stages
]
trained = stages[-1][1] / f"epoch-{spec['train']['epochs']:03d}.safetensors"
model = load_classifier(trained, device())[0]

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
    queries = {"phi": lambda x, y: (predict_logits(model, x),)}
    if p.mirror:  # the reference's second query: the image mirrored left to right (NHWC: the width axis)
        queries["phi_mirror"] = lambda x, y: (predict_logits(model, np.ascontiguousarray(x[:, :, ::-1])),)
    keys, labels, outcomes = map_set(inp.pool, queries)
    pool = {name: logit_confidence(outcome[0], labels) for name, outcome in outcomes.items()}
    tables.append(pl.DataFrame({"eval_set": "pool", "key": keys, "label": labels, **pool}))
    log.info("pool: logit-scaled confidence of %d images (%s)", len(keys), ", ".join(pool))
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
