"""prepare_data: :func:`synthval.jobs.prepare_data.run`."""

from synthval.jobs.prepare_data import run

run(snakemake)
