"""plot_samples: :func:`synthval.jobs.plot_samples.run`."""

from synthval.jobs.plot_samples import run

run(snakemake)
