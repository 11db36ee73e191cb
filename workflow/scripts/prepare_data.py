"""prepare_data: :func:`synthval.jobs.prepare_data.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.prepare_data import run

    run(snakemake)
