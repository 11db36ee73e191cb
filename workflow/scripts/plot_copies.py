"""plot_copies: :func:`synthval.jobs.plot_copies.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.plot_copies import run

    run(snakemake)
