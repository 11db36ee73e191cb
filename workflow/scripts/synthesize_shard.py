"""synthesize_shard: sample one class-balanced shard of a synthetic set from its own derived seed."""

from synthval.generators import load_generator, sample_images
from synthval.generators.synthesis import shard_labels
from synthval.data import write_shard
from synthval.runtime import device, setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
model = load_generator(snakemake.input.generator, device())
labels = shard_labels(model.num_classes, p.per_class, p.shards, p.index)
images = sample_images(model, labels, p.seed, p.batch_size)
name = snakemake.wildcards.generator
keys = [f"{snakemake.wildcards.trainset}-{name}-{p.index:05d}-{i:06d}" for i in range(len(labels))]
write_shard(snakemake.output.shard, keys, images, labels, source="synthetic", generator=name, seed=p.seed)
log.info("wrote %d images (seed %d) to %s", len(labels), p.seed, snakemake.output.shard)
