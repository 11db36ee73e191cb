"""index_synthetic: write a synthetic set's manifest (counts, sha256) once all its shards exist."""

from synthval.data import read_image_set, write_manifest
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
w = snakemake.wildcards
manifest = write_manifest(snakemake.output.manifest, snakemake.input.shards, source="synthetic", generator=w.generator, trainset=w.trainset)
images = read_image_set(snakemake.output.manifest)  # decodes every shard once: a bad one fails here, not downstream
log.info("indexed %d shards, %d images %s", len(manifest["shards"]), manifest["count"], images.images.shape[1:])
