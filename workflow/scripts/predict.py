"""predict: every member of one configuration, each saved epoch loaded once and run over each of the
member's evaluation sets. Each set is streamed once for them all (synthval.data.stream), in the
predictor's batches, so memory holds the models and one batch, whatever the sets' sizes."""

from pathlib import Path

import numpy as np
import polars as pl

from synthval.classifiers import load_classifier
from synthval.data import ImageSet
from synthval.data.stream import ShardStream, stream_batches
from synthval.evaluation.predict import BATCH_SIZE, predict, prediction_table
from synthval.io import write_frame
from synthval.runtime import Progress, device, setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
member_sets = snakemake.params.sets  # member -> {evaluation set: input name}
models = {
    member: [load_classifier(w, device()) for w in snakemake.input.weights if Path(w).parent.name == member]
    for member in member_sets
}
outcomes = {}  # (member, epoch, evaluation set) -> [(predictions, confidences) per batch]
sets = {}  # input name -> the set's keys and labels (its images are not kept)
for key in [k for k in snakemake.input.keys() if k != "weights"]:
    users = [(member, name) for member, named in member_sets.items() for name, k in named.items() if k == key]
    stream = ShardStream(snakemake.input[key])
    progress = Progress(log, f"{key} images", len(stream))
    keys, labels = [], []
    for batch in stream_batches(stream, BATCH_SIZE):
        keys += batch.keys
        labels.append(batch.labels)
        for member, name in users:
            for model, meta in models[member]:
                outcomes.setdefault((member, meta["epoch"], name), []).append(predict(model, batch.images))
        progress.update(len(keys))
    sets[key] = ImageSet(keys, np.zeros((len(keys), 0, 0, 0), np.uint8), np.concatenate(labels))
for member, table in zip(member_sets, snakemake.output.tables, strict=True):
    assert Path(table).stem == member, f"{table} is not {member}'s table"
    tables = []
    for _, meta in models[member]:
        for name, key in member_sets[member].items():
            pred, conf = (np.concatenate(part) for part in zip(*outcomes[member, meta["epoch"], name], strict=True))
            tables.append(prediction_table(member, meta["epoch"], name, sets[key], pred, conf))
            error = float((pred != sets[key].labels).mean())
            log.info("%s epoch %d on %s: error %.4f", member, meta["epoch"], name, error)
    write_frame(table, pl.concat(tables))
