"""import_classifier: a classifier trained elsewhere (zoo.imported) checked against the data and saved
as a zoo member's weights (epoch 1) with a one-row history, so predict treats it like a trained member."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from synthval.classifiers import save_classifier
from synthval.classifiers.imported import import_classifier
from synthval.io import read_json, write_frame
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/import_classifier.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    member = snakemake.wildcards.model
    summary = read_json(snakemake.input.summary)
    entry = snakemake.params.entry
    model = import_classifier(member, entry, len(summary["class_names"]), tuple(summary["image_shape"]))
    save_classifier(snakemake.output.weights, model, epoch=1, imported=entry)
    history = pl.DataFrame(
        {"epoch": [1], "loss": [math.nan], "train_accuracy": [math.nan], "seconds": [0.0], "model": [member]}
    )
    write_frame(snakemake.output.history, history)
    log.info("imported %s (%s) from %s", member, entry["architecture"], entry["weights"])
