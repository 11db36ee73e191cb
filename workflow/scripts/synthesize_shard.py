"""synthesize_shard and synthesize_train_shard: :func:`synthval.jobs.synthesize_shard.run`."""

from synthval.jobs.synthesize_shard import run

run(snakemake)
