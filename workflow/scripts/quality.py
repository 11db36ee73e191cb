"""quality: :func:`synthval.jobs.quality.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.quality import run

    run(snakemake)
