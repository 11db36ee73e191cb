"""summarize_training: :func:`synthval.jobs.summarize_training.run`."""

from synthval.jobs.summarize_training import run

run(snakemake)
