"""train_generator and train_class_generator: :func:`synthval.jobs.generator.run`."""

from synthval.jobs.generator import run

run(snakemake)
