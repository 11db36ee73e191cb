"""predict: every member of one configuration, each saved epoch loaded once and run over each of the
member's evaluation sets. Each set is streamed once for them all (synthval.evaluation.predict.predict_set),
so memory holds the models and one batch, whatever the sets' sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthval.classifiers import load_classifier
from synthval.data import ImageSet
from synthval.evaluation.predict import predict_set, prediction_table
from synthval.io import write_frame
from synthval.runtime import device, setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/predict.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0], accelerator=snakemake.params.accelerator)
    member_sets = snakemake.params.sets  # member -> {evaluation set: input name}
    models = {
        member: [load_classifier(w, device()) for w in snakemake.input.weights if Path(w).parent.name == member]
        for member in member_sets
    }
    # (member, epoch, input name) -> (predictions, confidences); input name -> keys, labels
    outcomes: dict[tuple[str, int, str], tuple[np.ndarray, np.ndarray]] = {}
    sets: dict[str, ImageSet] = {}
    for key in [k for k in snakemake.input.keys() if k != "weights"]:
        users = {
            (member, meta["epoch"]): model
            for member, named in member_sets.items()
            if key in named.values()
            for model, meta in models[member]
        }
        keys, labels, found = predict_set(users, snakemake.input[key])
        sets[key] = ImageSet(keys, np.zeros((len(keys), 0, 0, 0), np.uint8), labels)
        outcomes |= {(member, epoch, key): outcome for (member, epoch), outcome in found.items()}
    for member, table in zip(member_sets, snakemake.output.tables, strict=True):
        assert Path(table).stem == member, f"{table} is not {member}'s table"
        tables = []
        for _, meta in models[member]:
            for name, key in member_sets[member].items():
                pred, conf = outcomes[member, meta["epoch"], key]
                tables.append(prediction_table(member, meta["epoch"], name, sets[key], pred, conf))
                error = float((pred != sets[key].labels).mean())
                log.info("%s epoch %d on %s: error %.4f", member, meta["epoch"], name, error)
        write_frame(table, pl.concat(tables))
