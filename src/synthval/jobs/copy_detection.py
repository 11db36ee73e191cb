"""copy_detection: each synthetic image's nearest train-split image in the quality extractor's features,
and the test split's unseen real images' the same way (the reference a memorising generator exceeds)."""

from __future__ import annotations

from typing import Any

from synthval.data.shards import read_keys
from synthval.io import load_tensors, write_frame
from synthval.metrics.copies import HELD_OUT, SYNTHETIC, copy_summary, copy_table
from synthval.runtime import setup


def loaded(features, manifest):
    return load_tensors(features)[0]["features"].numpy(), read_keys(manifest)


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/copy_detection.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    i = snakemake.input

    train, train_keys = loaded(i.train, i.train_images)
    table = copy_table(
        train,
        train_keys,
        {SYNTHETIC: loaded(i.synthetic, i.synthetic_images), HELD_OUT: loaded(i.held_out, i.held_out_images)},
    )
    write_frame(snakemake.output.table, table)
    log.info("%s", copy_summary(table))
