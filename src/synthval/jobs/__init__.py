"""The training jobs a rank of a distributed job runs (and the job's own process runs with one rank):
library functions of plain data (paths, specs, seeds), so that
:func:`synthval.classifiers.distributed.run_ranks` can start them as ``module:function`` in fresh
interpreters. Rank 0 writes what they produce. One module per job, so that a job's code digest
(synthval.provenance) covers what it runs and nothing else."""
