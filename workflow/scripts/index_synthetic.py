"""index_synthetic and index_webdataset: :func:`synthval.jobs.index_synthetic.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.index_synthetic import run

    run(snakemake)
