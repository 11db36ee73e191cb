"""plot_samples: a grid of synthetic images, one row per class."""

from synthval.data import read_image_set
from synthval.report.figures import sample_grid
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
images = read_image_set(snakemake.input.manifest)
sample_grid(images.images, images.labels, snakemake.output.grid, title=f"{snakemake.wildcards.generator} ({snakemake.wildcards.trainset})")
