"""select_models: :func:`synthval.jobs.select_models.run`."""

from synthval.jobs.select_models import run

run(snakemake)
