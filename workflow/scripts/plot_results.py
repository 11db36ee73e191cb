"""plot_results: the report's per-training-set figures (quality curves, selection protocols, calibration sweep)."""

from synthval.report.figures import result_figure
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
trainset = snakemake.wildcards.trainset
result_figure("quality", snakemake.input.curves, snakemake.output.quality, trainset=trainset)
result_figure("protocols", [snakemake.input.protocols], snakemake.output.protocols, trainset=trainset)
result_figure("calibration", [snakemake.input.calibration], snakemake.output.calibration, trainset=trainset)
log.info("figures of %s written", trainset)
