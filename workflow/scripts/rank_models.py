"""rank_models: :func:`synthval.jobs.rank_models.run`."""

from synthval.jobs.rank_models import run

run(snakemake)
