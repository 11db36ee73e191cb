"""plot_results: :func:`synthval.jobs.plot_results.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.plot_results import run

    run(snakemake)
