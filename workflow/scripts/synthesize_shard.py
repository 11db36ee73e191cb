"""synthesize_shard and synthesize_train_shard: :func:`synthval.jobs.synthesize_shard.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.synthesize_shard import run

    run(snakemake)
