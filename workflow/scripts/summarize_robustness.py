"""summarize_robustness: :func:`synthval.jobs.summarize_robustness.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.summarize_robustness import run

    run(snakemake)
