"""convert_webdataset: :func:`synthval.jobs.convert_webdataset.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.convert_webdataset import run

    run(snakemake)
