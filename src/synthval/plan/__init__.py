"""The workflow's plan: which jobs a config implies, what each reads and how each is set. Torch-free and
free of Snakemake; the rules only name what is decided here.

    paths        where every result lives (the rules' outputs, the report's reads, the tests' checks)
    study        what a config implies: training sets, generators, members, shards, runs (:class:`Study`)
    stage        what the stages share: the code digest of a job, its seed, growing resources
    data  generators  classifiers  evaluation  metrics  selection  training  privacy  robustness  report
                 one module per rules file (workflow/rules/<stage>.smk): its jobs' inputs and settings,
                 as functions of their wildcards
    workflow     :class:`~synthval.plan.workflow.Plan`, all of it: ``P = Plan.from_config(config, scripts)``

This package's ``__init__`` imports nothing: a job's code digest (synthval.provenance) follows imports,
and editing one stage's plan must rerun that stage's jobs only.
"""
