"""features: :func:`synthval.jobs.features.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.features import run

    run(snakemake)
