"""train_generator and train_class_generator: :func:`synthval.jobs.generator.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.generator import run

    run(snakemake)
