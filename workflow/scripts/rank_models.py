"""rank_models: per-model errors on every evaluation set and their rank correlation with test error."""

import polars as pl

from synthval.io import atomic_path
from synthval.report.figures import error_scatter
from synthval.runtime import setup
from synthval.selection import model_errors, rank_correlation

log = setup(snakemake.threads, log_file=snakemake.log[0])
errors = model_errors(pl.concat([pl.read_parquet(p) for p in snakemake.input.predictions]))
rank = rank_correlation(errors)
for row in rank.iter_rows(named=True):
    log.info("%s: spearman %.3f kendall %.3f over %d models", row["eval_set"], row["spearman"], row["kendall"], row["n_models"])
with atomic_path(snakemake.output.errors) as tmp:
    errors.write_parquet(tmp)
with atomic_path(snakemake.output.rank) as tmp:
    rank.write_parquet(tmp)
error_scatter(errors, rank, snakemake.output.scatter, title=snakemake.params.trainset)
