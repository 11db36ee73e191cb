"""summarize_robustness: :func:`synthval.jobs.summarize_robustness.run`."""

from synthval.jobs.summarize_robustness import run

run(snakemake)
