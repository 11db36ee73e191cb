"""train_recipe: :func:`synthval.jobs.recipe.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.recipe import run

    run(snakemake)
