"""augment_split: :func:`synthval.jobs.augment_split.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.augment_split import run

    run(snakemake)
