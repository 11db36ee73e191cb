"""copy_detection: :func:`synthval.jobs.copy_detection.run`."""

from synthval.jobs.copy_detection import run

run(snakemake)
