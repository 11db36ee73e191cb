"""synthval: can data generated from your own training set stand in for real data?

The library behind the Snakemake workflow. Packages follow the DAG and lower layers never import
higher ones: ``data`` -> ``generators`` -> ``classifiers`` -> ``evaluation`` -> ``metrics`` ->
``selection`` -> ``report``. ``io`` and ``runtime`` are shared utilities below all of them.
"""

__version__ = "0.1.0"
