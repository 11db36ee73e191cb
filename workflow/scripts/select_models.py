"""select_models: :func:`synthval.jobs.select_models.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.select_models import run

    run(snakemake)
