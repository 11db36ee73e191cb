"""score_shift: :func:`synthval.jobs.score_shift.run`."""

from synthval.jobs.score_shift import run

run(snakemake)
