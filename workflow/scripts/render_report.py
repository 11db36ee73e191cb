"""render_report: the self-contained HTML report of the whole run."""

from synthval.report.build import build_report
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
pairs = [(t, g) for t in p.trainsets for g in p.generators]
per_trainset = len(snakemake.input.histories) // len(p.trainsets)  # expand() lists them training set by training set
histories = {t: snakemake.input.histories[i * per_trainset : (i + 1) * per_trainset] for i, t in enumerate(p.trainsets)}
files = zip(pairs, snakemake.input.generators, snakemake.input.grids, snakemake.input.manifests, strict=True)
generators = {pair: {"weights": w, "grid": grid, "manifest": m} for pair, w, grid, m in files}
build_report(
    snakemake.output.html,
    title=p.config["report"]["title"],
    config=p.config,
    summaries=dict(zip(p.trainsets, snakemake.input.summaries, strict=True)),
    generators=generators,
    references=dict(zip(p.trainsets, snakemake.input.references, strict=True)),
    histories=histories,
    errors=dict(zip(p.trainsets, snakemake.input.errors, strict=True)),
    ranks=dict(zip(p.trainsets, snakemake.input.ranks, strict=True)),
    scatters=dict(zip(p.trainsets, snakemake.input.scatters, strict=True)),
    quality={t: {"tables": [snakemake.input.quality_tables[i * len(p.generators) + j] for j in range(len(p.generators))],
                 "curves": [snakemake.input.quality_curves[i * len(p.generators) + j] for j in range(len(p.generators))]}
             for i, t in enumerate(p.trainsets)},
    selection={t: {name: snakemake.input.selection[i * len(p.tables) + j] for j, name in enumerate(p.tables)} for i, t in enumerate(p.trainsets)},
)
log.info("report written to %s", snakemake.output.html)
