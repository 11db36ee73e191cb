"""quality: :func:`synthval.jobs.quality.run`."""

from synthval.jobs.quality import run

run(snakemake)
