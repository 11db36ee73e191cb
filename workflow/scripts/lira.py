"""lira: :func:`synthval.jobs.lira.run`."""

from synthval.jobs.lira import run

run(snakemake)
