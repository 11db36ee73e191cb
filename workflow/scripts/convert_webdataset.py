"""convert_webdataset: :func:`synthval.jobs.convert_webdataset.run`."""

from synthval.jobs.convert_webdataset import run

run(snakemake)
