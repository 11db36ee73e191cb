"""import_classifier: :func:`synthval.jobs.import_classifier.run`."""

from synthval.jobs.import_classifier import run

run(snakemake)
