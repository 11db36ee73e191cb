"""plot_samples: a grid of synthetic images, one row per class, and the generator's training history."""

from __future__ import annotations

from typing import Any

from synthval.data import read_image_set
from synthval.report.figures import result_figure, sample_grid
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/plot_samples.py."""
    setup(snakemake.threads, log_file=snakemake.log[0])
    trainset, generator = snakemake.wildcards.trainset, snakemake.wildcards.generator
    images = read_image_set(snakemake.input.manifest)
    sample_grid(images.images, images.labels, snakemake.output.grid, title=f"{generator} ({trainset})")
    if "weights" in snakemake.input.keys():  # imported samples have no training history
        result_figure(
            "generator_history",
            [snakemake.input.weights],
            snakemake.output.history,
            trainset=trainset,
            generator=generator,
        )
