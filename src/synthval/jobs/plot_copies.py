"""plot_copies: copy detection's figures of one training set: the similarity histograms of every
synthetic set beside the held-out real images', and each set's closest pairs."""

from __future__ import annotations

from typing import Any

from synthval.report.figures import result_figure
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/plot_copies.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    trainset = snakemake.wildcards.trainset
    i = snakemake.input
    result_figure("copies", i.tables, snakemake.output.copies, trainset=trainset)
    result_figure("copy_pairs", [*i.tables, i.train, *i.synthetic], snakemake.output.pairs, trainset=trainset)
    log.info("copy figures of %s written", trainset)
