"""assemble_class_generators: :func:`synthval.jobs.assemble_class_generators.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.assemble_class_generators import run

    run(snakemake)
