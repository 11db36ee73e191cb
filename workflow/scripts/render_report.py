"""render_report: the self-contained HTML report of the whole run."""

from synthval.report.build import build_report
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
pairs = [(t, g) for t in p.trainsets for g in p.generators]


def by_trainset(files):
    """expand() lists files training set by training set: split them into equal runs, one per set."""
    per = len(files) // len(p.trainsets)
    return {t: list(files[i * per : (i + 1) * per]) for i, t in enumerate(p.trainsets)}


files = zip(pairs, snakemake.input.generators, snakemake.input.grids, snakemake.input.manifests, strict=True)
generators = {pair: {"weights": w, "grid": grid, "manifest": m} for pair, w, grid, m in files}
tables, curves, selection = by_trainset(snakemake.input.quality_tables), by_trainset(snakemake.input.quality_curves), by_trainset(snakemake.input.selection)
build_report(
    snakemake.output.html,
    title=p.config["report"]["title"],
    config=p.config,
    summaries=dict(zip(p.trainsets, snakemake.input.summaries, strict=True)),
    generators=generators,
    references=dict(zip(p.trainsets, snakemake.input.references, strict=True)),
    histories=by_trainset(snakemake.input.histories),
    errors=dict(zip(p.trainsets, snakemake.input.errors, strict=True)),
    ranks=dict(zip(p.trainsets, snakemake.input.ranks, strict=True)),
    scatters=dict(zip(p.trainsets, snakemake.input.scatters, strict=True)),
    quality={t: {"tables": tables[t], "curves": curves[t]} for t in p.trainsets},
    selection={t: dict(zip(p.tables, selection[t], strict=True)) for t in p.trainsets},
)
log.info("report written to %s", snakemake.output.html)
