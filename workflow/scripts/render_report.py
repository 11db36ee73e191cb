"""render_report / partial_report: :func:`synthval.jobs.render_report.run`."""

from synthval.jobs.render_report import run

run(snakemake)
