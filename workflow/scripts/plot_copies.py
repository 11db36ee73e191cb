"""plot_copies: :func:`synthval.jobs.plot_copies.run`."""

from synthval.jobs.plot_copies import run

run(snakemake)
