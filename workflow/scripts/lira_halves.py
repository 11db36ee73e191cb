"""lira_halves: :func:`synthval.jobs.lira_halves.run`."""

from synthval.jobs.lira_halves import run

run(snakemake)
