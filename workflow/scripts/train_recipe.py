"""train_recipe: :func:`synthval.jobs.recipe.run`."""

from synthval.jobs.recipe import run

run(snakemake)
