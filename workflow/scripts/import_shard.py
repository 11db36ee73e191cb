"""import_shard: :func:`synthval.jobs.import_shard.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.import_shard import run

    run(snakemake)
