"""What each job of the workflow runs, one module a job: ``run(snakemake)`` takes the object Snakemake
hands the job's script (workflow/scripts/<job>.py, which only calls it), so that the unit tests and the
library's rules reach every job's body. The training jobs' ranks run library functions of plain data
(paths, specs, seeds), so that :func:`synthval.classifiers.distributed.run_ranks` can start them as
``module:function`` in fresh interpreters; rank 0 writes what they produce. Nothing is imported here, so
that a job's code digest (synthval.provenance) covers what it runs and nothing else."""
