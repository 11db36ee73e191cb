"""rank_models: per-model errors on every evaluation set, and rank correlations with test error of every
selection set, the val baseline and the architecture shift, per group and pooled; the figures of both,
and of the error per class."""

import polars as pl

from synthval.io import read_frame, write_frame
from synthval.report.figures import class_error_heatmap, error_scatter
from synthval.runtime import setup
from synthval.selection import model_errors, rank_correlation
from synthval.selection.ranking import class_errors

p = snakemake.params
seed = p.seed % 2**31  # scipy's bootstrap takes 32-bit seeds
log = setup(snakemake.threads, log_file=snakemake.log[0])
predictions = pl.concat([read_frame(f) for f in snakemake.input.predictions])
errors = model_errors(predictions)
rank = rank_correlation(errors, p.groups, repeats=p.repeats, seed=seed)
for row in rank.iter_rows(named=True):
    log.info(
        "%s (%s, group %s): spearman %.3f [%.3f, %.3f] (%s over %d %s), kendall %.3f over %d models",
        row["eval_set"],
        row["ranked"],
        row["group"],
        row["spearman"],
        row["spearman_low"],
        row["spearman_high"],
        row["interval"],
        row["n_configs"],
        row["interval_unit"],
        row["kendall"],
        row["n_models"],
    )
write_frame(snakemake.output.errors, errors)
write_frame(snakemake.output.rank, rank)
error_scatter(errors, rank, snakemake.output.scatter, groups=p.groups, title=p.trainset)
class_error_heatmap(class_errors(predictions), snakemake.output.class_errors, title=p.trainset)
