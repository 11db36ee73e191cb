"""predict: every member of one configuration, each saved epoch loaded once and run over each of the
member's evaluation sets (every set is read once for them all)."""

from pathlib import Path

import polars as pl

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.evaluation.predict import predict, prediction_table
from synthval.io import write_frame
from synthval.runtime import device, setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
member_sets = snakemake.params.sets  # member -> {evaluation set: input name}
images = {key: read_image_set(path) for key, path in snakemake.input.items() if key != "weights"}
for member, table in zip(member_sets, snakemake.output.tables, strict=True):
    assert Path(table).stem == member, f"{table} is not {member}'s table"
    tables = []
    for weights in [w for w in snakemake.input.weights if Path(w).parent.name == member]:
        model, meta = load_classifier(weights, device())
        for name, key in member_sets[member].items():
            pred, conf = predict(model, images[key].images)
            tables.append(prediction_table(member, meta["epoch"], name, images[key], pred, conf))
            log.info(
                "%s epoch %d on %s: error %.4f", member, meta["epoch"], name, float((pred != images[key].labels).mean())
            )
    write_frame(table, pl.concat(tables))
