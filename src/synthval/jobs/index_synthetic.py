"""index_synthetic and index_webdataset: write a synthetic set's manifest (counts, sha256) once all
its shards exist and match what their jobs recorded; for a pseudo-labelled set it also carries the
per-class kept fractions, for an imported one what the import checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthval.data import read_image_set, read_shard_metadata, write_manifest
from synthval.generators import merge_stats
from synthval.io import check_record
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/index_synthetic.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    w = snakemake.wildcards
    # each shard as its job wrote it (its <shard>.sha256): a shard changed since is refused, never hashed anew
    digests = [check_record(shard) for shard in snakemake.input.shards]
    extra = {}
    parquet = [s for s in snakemake.input.shards if Path(s).suffix == ".parquet"]
    metadata = [read_shard_metadata(s) for s in parquet]
    if stats := [m["pseudo_labels"] for m in metadata if "pseudo_labels" in m]:
        extra["pseudo_labels"] = merge_stats(stats)
    if imported := [m["imported"] for m in metadata if "imported" in m]:  # the same in every shard
        extra["imported"] = imported[0]
    manifest = write_manifest(
        snakemake.output.manifest,
        snakemake.input.shards,
        digests,
        source="synthetic",
        generator=w.generator,
        trainset=w.trainset,
        **extra,
    )
    images = read_image_set(snakemake.output.manifest)  # decodes every shard once: a bad one fails here, not downstream
    log.info("indexed %d shards, %d images %s", len(manifest["shards"]), manifest["count"], images.images.shape[1:])
