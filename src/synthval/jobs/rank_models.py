"""rank_models: per-model errors on every evaluation set, and the three questions' answers (which
architecture, which hyper-parameters, which trained model) of every selection set and the val baseline,
each with the check of this run's own design, beside the rho over configurations pooled (described) and
the architecture shift, per group and pooled;
what each selection set is worth in real images (synthval.selection.worth); the figures of the ranks and
of the error per class."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthval.io import read_frame, write_frame
from synthval.report.figures import class_error_heatmap, error_scatter
from synthval.runtime import setup
from synthval.selection import model_errors, rank_correlation
from synthval.selection.ranking import class_errors
from synthval.selection.worth import real_image_worth


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/rank_models.py."""
    p = snakemake.params
    seed = p.seed % 2**31  # the permutation tests' and the real-image draws' seed
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    predictions = pl.concat([read_frame(f) for f in snakemake.input.predictions])
    errors = model_errors(predictions)
    rank = rank_correlation(errors, p.groups, seed=seed, families=p.families)
    for row in rank.iter_rows(named=True):
        log.info(
            "%s (%s, group %s, %s): %s %.3f [%.3f, %.3f] (%s over %d %s), p %.3g; %d models; design %s holds: %s",
            row["eval_set"],
            row["ranked"],
            row["group"],
            row["question"],
            row["statistic"],
            row["spearman"],
            row["spearman_low"],
            row["spearman_high"],
            row["interval"],
            row["n_units"],
            row["interval_unit"],
            row["p_value"],
            row["n_models"],
            row["design"],
            row["design_holds"],
        )
    curve, worth = real_image_worth(predictions, p.selection_sets, p.groups, p.draws, seed)
    for row in worth.iter_rows(named=True):
        log.info(
            "%s (group %s): rho %.3f on the scoring half of test, worth %.0f real images [%.0f, %.0f]",
            row["eval_set"],
            row["group"],
            row["spearman"],
            row["real_images"],
            row["real_images_low"],
            row["real_images_high"],
        )
    write_frame(snakemake.output.errors, errors)
    write_frame(snakemake.output.rank, rank)
    write_frame(snakemake.output.worth, worth)
    write_frame(snakemake.output.worth_curve, curve)
    error_scatter(errors, rank, snakemake.output.scatter, groups=p.groups, title=p.trainset)
    class_error_heatmap(class_errors(predictions), snakemake.output.class_errors, title=p.trainset)
