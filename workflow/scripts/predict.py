"""predict: load each saved epoch of one model once and run it over every evaluation set."""

import polars as pl

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.evaluation import predict, prediction_table
from synthval.io import atomic_path
from synthval.runtime import device, setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
sets = {name: read_image_set(path) for name, path in snakemake.input.items() if name != "weights"}
tables = []
for weights in snakemake.input.weights:
    model, meta = load_classifier(weights, device())
    for name, images in sets.items():
        pred, conf = predict(model, images.images)
        tables.append(prediction_table(snakemake.params.model_id, meta["epoch"], name, images, pred, conf))
        log.info("epoch %d on %s: error %.4f", meta["epoch"], name, float((pred != images.labels).mean()))
with atomic_path(snakemake.output.table) as tmp:
    pl.concat(tables).write_parquet(tmp)
