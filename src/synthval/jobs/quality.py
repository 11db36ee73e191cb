"""quality: every quality metric of one synthetic set against the real train split, overall and per
class, as a long table (class, metric, value) and the PRD and ARC curves."""

from __future__ import annotations

from typing import Any

import polars as pl
from threadpoolctl import threadpool_limits

from synthval.io import load_tensors, write_frame
from synthval.metrics.quality import QualitySettings, quality_tables
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/quality.py."""
    p = snakemake.params
    setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
    real, real_meta = load_tensors(snakemake.input.real)
    fake, fake_meta = load_tensors(snakemake.input.fake)
    if real_meta["extractor"] != fake_meta["extractor"]:
        raise ValueError(f"features from different extractors: {real_meta['extractor']} and {fake_meta['extractor']}")
    settings = QualitySettings.from_config(p.quality)
    with threadpool_limits(snakemake.threads):  # k-means and numpy BLAS use what the rule declares
        rows, curves = quality_tables(
            real["features"].numpy(),
            real["labels"].numpy(),
            fake["features"].numpy(),
            fake["labels"].numpy(),
            settings,
            p.seed,
        )
    provenance = {"generator": p.generator, "extractor": real_meta["extractor"], "real": "train split"}
    write_frame(
        snakemake.output.table, pl.DataFrame(rows).with_columns(**{k: pl.lit(v) for k, v in provenance.items()})
    )
    write_frame(
        snakemake.output.curves, pl.DataFrame(curves).with_columns(**{k: pl.lit(v) for k, v in provenance.items()})
    )
