"""augment_split: :func:`synthval.jobs.augment_split.run`."""

from synthval.jobs.augment_split import run

run(snakemake)
