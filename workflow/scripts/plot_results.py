"""plot_results: the report's per-training-set figures (quality curves, selection protocols, calibration sweep)."""

import polars as pl

from synthval.report.figures import calibration_sweep, protocol_bars, quality_curves
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
trainset = snakemake.wildcards.trainset
quality_curves(
    pl.concat([pl.read_parquet(p) for p in snakemake.input.curves]),
    snakemake.output.quality,
    title=f"synthetic sets of {trainset}",
)
protocol_bars(pl.read_parquet(snakemake.input.protocols), snakemake.output.protocols, title=trainset)
calibration_sweep(pl.read_parquet(snakemake.input.calibration), snakemake.output.calibration, title=trainset)
log.info("figures of %s written", trainset)
