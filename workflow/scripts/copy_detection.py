"""copy_detection: :func:`synthval.jobs.copy_detection.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.copy_detection import run

    run(snakemake)
