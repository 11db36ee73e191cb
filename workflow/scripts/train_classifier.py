"""train_classifier and train_reference: :func:`synthval.jobs.classifier.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.classifier import run

    run(snakemake)
