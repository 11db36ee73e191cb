"""import_shard: one shard of a set of samples made elsewhere (family imported), checked against the
data (labels, classes, size and channels; synthval.data.imported) and written like a sampled shard."""

from __future__ import annotations

from typing import Any

from synthval.data import write_shard
from synthval.data.imported import load_imported, shard_part
from synthval.io import read_json
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/import_shard.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    summary = read_json(snakemake.input.summary)
    images, labels, report = load_imported(
        snakemake.input.source, summary["class_names"], tuple(summary["image_shape"])
    )
    part = shard_part(len(labels), p.shards, p.index)
    keys = [f"{p.key_prefix}-{i:06d}" for i in range(len(part))]
    write_shard(
        snakemake.output.shard,
        keys,
        images[part],
        labels[part],
        source="synthetic",
        generator=snakemake.wildcards.generator,
        seed=0,
        metadata={"imported": report},
        class_names=summary["class_names"],
        record=True,  # index_synthetic checks the shard against this record
    )
    log.info(
        "imported %d of %d images of %s (%s; source shape %s)",
        len(part),
        report["count"],
        report["path"],
        report["kind"],
        report["source_shape"],
    )
