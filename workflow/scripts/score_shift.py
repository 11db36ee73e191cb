"""score_shift: :func:`synthval.jobs.score_shift.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.score_shift import run

    run(snakemake)
