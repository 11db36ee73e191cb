"""shift_split: :func:`synthval.jobs.shift_split.run`."""

from synthval.jobs.shift_split import run

run(snakemake)
