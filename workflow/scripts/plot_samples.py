"""plot_samples: :func:`synthval.jobs.plot_samples.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.plot_samples import run

    run(snakemake)
