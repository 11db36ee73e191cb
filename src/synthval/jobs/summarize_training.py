"""summarize_training: the training study's tables (accuracy per run and seed, content-gap losses)
and figures (scaling curve, loss histograms) of one training set, from the runs' prediction tables."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthval.evaluation.study import accuracy_table, content_gap_table, method_summary
from synthval.io import read_frame, write_frame
from synthval.report.figures import result_figure
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/summarize_training.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    trainset = snakemake.wildcards.trainset
    predictions = pl.concat([read_frame(p) for p in snakemake.input.predictions])
    accuracy = accuracy_table(predictions, snakemake.params.runs)
    gap = content_gap_table(predictions, snakemake.params.runs)
    for table, out in ((accuracy, snakemake.output.accuracy), (gap, snakemake.output.content_gap)):
        write_frame(out, table)
    summary = method_summary(accuracy)
    for row in summary.iter_rows(named=True):
        log.info(
            "%-28s accuracy %.4f [%.4f, %.4f], gain over real %+.4f",
            row["run"],
            row["accuracy"],
            row["low"],
            row["high"],
            row["gain"],
        )
    result_figure("scaling", [snakemake.output.accuracy], snakemake.output.scaling, trainset=trainset)
    result_figure("content_gap", [snakemake.output.content_gap], snakemake.output.content_gap_plot, trainset=trainset)
