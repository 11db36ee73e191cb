"""train_generator and train_class_generator: fit one generator on one training split (never the test
split), scoring checkpoints with the reference classifier when ``eval_every`` > 0. What it trains and
how is the plan's spec (:func:`synthval.config.generator_spec`); the training itself is
:func:`synthval.jobs.generator.train_generator_job`, run here or, with ``ranks`` > 1, as one distributed job over
the node's GPUs."""

from synthval.classifiers.distributed import run_ranks
from synthval.jobs.generator import train_generator_job
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
inputs = snakemake.input
job = (
    p.spec,
    inputs.train,
    p.seed,
    p.resume,
    snakemake.output.weights,
    inputs.summary if "summary" in inputs.keys() else None,
    inputs.reference if "reference" in inputs.keys() else None,
    getattr(p, "cls", None),
    p.loading,
)
if p.ranks > 1:
    log.info("training over %d ranks (rank 0 writes)", p.ranks)
    run_ranks(p.ranks, 1, "synthval.jobs.generator:train_generator_job", *job)
else:
    train_generator_job(*job)
