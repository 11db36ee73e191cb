"""import_classifier: :func:`synthval.jobs.import_classifier.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.import_classifier import run

    run(snakemake)
