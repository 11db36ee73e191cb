"""index_synthetic and index_webdataset: :func:`synthval.jobs.index_synthetic.run`."""

from synthval.jobs.index_synthetic import run

run(snakemake)
