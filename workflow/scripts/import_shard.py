"""import_shard: :func:`synthval.jobs.import_shard.run`."""

from synthval.jobs.import_shard import run

run(snakemake)
