"""render_report: the self-contained HTML report of the whole run."""

from synthval.report.build import build_report
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
pairs = [(t, g) for t in p.trainsets for g in p.generators]
generators = {pair: {"weights": w, "grid": grid} for pair, w, grid in zip(pairs, snakemake.input.generators, snakemake.input.grids, strict=True)}
build_report(
    snakemake.output.html,
    title=p.config["report"]["title"],
    config=p.config,
    summary_path=snakemake.input.summary,
    generators=generators,
    histories=snakemake.input.histories,
    errors=dict(zip(p.trainsets, snakemake.input.errors, strict=True)),
    ranks=dict(zip(p.trainsets, snakemake.input.ranks, strict=True)),
    scatters=dict(zip(p.trainsets, snakemake.input.scatters, strict=True)),
)
log.info("report written to %s", snakemake.output.html)
