"""lira_halves: :func:`synthval.jobs.lira_halves.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.lira_halves import run

    run(snakemake)
