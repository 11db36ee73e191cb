"""render_report / partial_report: :func:`synthval.jobs.render_report.run`
(forked from the run's warm process where one listens: synthval.forkserver)."""

from synthval.forkserver import forked

if not forked(snakemake):
    from synthval.jobs.render_report import run

    run(snakemake)
