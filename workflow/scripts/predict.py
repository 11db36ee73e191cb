"""predict: :func:`synthval.jobs.predict.run`."""

from synthval.jobs.predict import run

run(snakemake)
