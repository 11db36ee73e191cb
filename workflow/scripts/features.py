"""features: :func:`synthval.jobs.features.run`."""

from synthval.jobs.features import run

run(snakemake)
