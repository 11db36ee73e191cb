"""synthval: can data generated from your own training set stand in for real data?

The library behind the Snakemake workflow, in layers; a module imports only its own layer and those
before it (tests/test_plan.py checks this):

1. shared utilities: ``io``, ``seeding``, ``schema``, ``runtime``, ``forkserver``, ``live``, ``checkpoint``,
   ``provenance``, ``inference``, ``questions`` (the three questions a zoo answers), ``simulation`` (zoos
   with a known truth), ``papers``
2. ``data``: datasets, splits, shards
3. what a config says: ``zoo``, ``recipes``, ``families`` (each generator family's torch-free facts),
   ``config``
4. ``plan``: the workflow's plan (which jobs, what each reads, how each is set); torch-free
5. ``classifiers`` -> ``evaluation`` -> ``generators`` -> ``metrics`` -> ``selection`` -> ``report``
6. ``jobs``: what each job of the workflow runs (one module a job; its script in workflow/scripts hands it
   Snakemake's object), and what each rank of a distributed job runs
7. ``cli``

``generators`` come after ``classifiers`` and ``evaluation`` although the workflow trains them first:
pseudo-labelling and checkpoint scoring use the reference classifier.
"""

__version__ = "0.1.0"
