"""plot_results: :func:`synthval.jobs.plot_results.run`."""

from synthval.jobs.plot_results import run

run(snakemake)
