"""render_report / partial_report: the self-contained HTML report of the run (of what exists, when partial)."""

from __future__ import annotations

from typing import Any

from synthval.report.build import build_report
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/render_report.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    build_report(snakemake.output.html, title=p.config["report"]["title"], config=p.config, partial=p.partial)
    log.info("report written to %s", snakemake.output.html)
