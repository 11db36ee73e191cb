"""assemble_class_generators: :func:`synthval.jobs.assemble_class_generators.run`."""

from synthval.jobs.assemble_class_generators import run

run(snakemake)
