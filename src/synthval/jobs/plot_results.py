"""plot_results: the report's per-training-set figures (quality curves, selection protocols, calibration sweep)."""

from __future__ import annotations

from typing import Any

from synthval.report.figures import result_figure
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/plot_results.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    trainset = snakemake.wildcards.trainset
    result_figure("quality", snakemake.input.curves, snakemake.output.quality, trainset=trainset)
    result_figure("protocols", [snakemake.input.protocols], snakemake.output.protocols, trainset=trainset)
    result_figure("calibration", [snakemake.input.calibration], snakemake.output.calibration, trainset=trainset)
    log.info("figures of %s written", trainset)
