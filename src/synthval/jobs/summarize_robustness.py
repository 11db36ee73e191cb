"""summarize_robustness: accuracy under distribution shift per study run, shift and severity, with
t-intervals over seeds (synthval.evaluation.robustness), and its figure."""

from __future__ import annotations

from typing import Any

from synthval.evaluation.robustness import robustness_summary, strongest_shift
from synthval.io import read_frame, write_frame
from synthval.report.figures import result_figure
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/summarize_robustness.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    scores = read_frame(snakemake.input.scores)
    summary = robustness_summary(scores, snakemake.params.corruptions)
    write_frame(snakemake.output.table, summary)
    for row in strongest_shift(summary).iter_rows(named=True):
        log.info(
            "%-28s %s, severity %d: accuracy %.4f, drop %.4f [%.4f, %.4f] over %d seeds",
            row["run"],
            row["shift"],
            row["severity"],
            row["accuracy"],
            row["drop"],
            row["drop_low"],
            row["drop_high"],
            row["seeds"],
        )
    result_figure("robustness", [snakemake.output.table], snakemake.output.plot, trainset=snakemake.wildcards.trainset)
