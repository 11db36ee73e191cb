"""convert_webdataset: the same synthetic images as a WebDataset tar shard, for streaming readers."""

from pathlib import Path

import pyarrow.parquet as pq

from synthval.data.shards import read_shard
from synthval.data.webdataset import write_tar_shard
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
part = read_shard(Path(snakemake.input.shard))
row = pq.read_table(snakemake.input.shard, columns=["source", "generator", "seed"]).slice(0, 1).to_pylist()
write_tar_shard(snakemake.output.tar, part.keys, part.images, part.labels, row[0] if row else {})
log.info("wrote %d samples to %s", len(part), snakemake.output.tar)
