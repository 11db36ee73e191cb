"""summarize_training: :func:`synthval.jobs.summarize_training.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.summarize_training import run

    run(snakemake)
