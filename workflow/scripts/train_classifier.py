"""train_classifier and train_reference: :func:`synthval.jobs.classifier.run`."""

from synthval.jobs.classifier import run

run(snakemake)
