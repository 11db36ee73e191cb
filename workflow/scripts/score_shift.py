"""score_shift: every run and seed of the study scored on the clean test split and on every shifted test
set (seed 003 §4.4): accuracy per run, seed, shift and severity (0: clean or a user's set)."""

import polars as pl

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.data.corruptions import severity_of
from synthval.evaluation.predict import predict
from synthval.evaluation.robustness import CLEAN
from synthval.io import write_frame
from synthval.runtime import device, setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
sets = {CLEAN: read_image_set(snakemake.input.test)} | {
    shift: read_image_set(manifest) for shift, manifest in zip(p.shifts, snakemake.input.shifts, strict=True)
}
rows = []
models = [(run, seed) for run in p.runs for seed in p.seeds]  # the order of the weights input
for (run, seed), weights in zip(models, snakemake.input.weights, strict=True):
    model = load_classifier(weights, device())[0]
    for shift, images in sets.items():
        pred, _ = predict(model, images.images)
        severity = severity_of(images.keys) if shift in p.corruptions else [0] * len(images)
        frame = pl.DataFrame({"severity": severity, "correct": pred == images.labels})
        for row in (
            frame.group_by("severity").agg(accuracy=pl.col("correct").mean(), images=pl.len()).iter_rows(named=True)
        ):
            rows.append({"run": run, "seed": seed, "shift": shift, **row})
    log.info("%s, seed %d: %d sets scored", run, seed, len(sets))
table = pl.DataFrame(rows).sort("run", "seed", "shift", "severity")
write_frame(snakemake.output.scores, table)
log.info("%d runs x %d seeds scored on %d sets", len(p.runs), len(p.seeds), len(sets))
