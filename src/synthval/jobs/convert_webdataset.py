"""convert_webdataset: the same synthetic images as a WebDataset tar shard, for streaming readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthval.data.shards import read_shard
from synthval.data.webdataset import write_tar_shard
from synthval.io import read_parquet
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/convert_webdataset.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    part = read_shard(Path(snakemake.input.shard), recorded=True)  # as synthesize_shard wrote it, or refused
    row = read_parquet(snakemake.input.shard, columns=["source", "generator", "seed"]).slice(0, 1).to_pylist()
    write_tar_shard(snakemake.output.tar, part.keys, part.images, part.labels, row[0] if row else {}, record=True)
    log.info("wrote %d samples to %s", len(part), snakemake.output.tar)
