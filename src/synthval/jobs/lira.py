"""lira: membership inference against the study's attacked runs (synthval.metrics.membership): every
LiRA model of a run as the target, the others its shadows; AUC and TPR at low FPR per run and attack,
the ROC curves, the target models' test accuracy, and the figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from synthval.io import read_frame, write_frame
from synthval.metrics.membership import evaluate
from synthval.report.figures import result_figure
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/lira.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    membership = read_frame(snakemake.input.membership).sort("model", "key")
    models = membership["model"].n_unique()
    keys = membership.filter(pl.col("model") == 0)["key"]
    member = membership["member"].to_numpy().reshape(models, -1)
    files = iter(snakemake.input.predictions)
    attacks, curves = [], []
    for run in p.runs:
        phi, accuracy = [], []
        for _ in range(models):
            table = read_frame(next(files))
            pool = pl.DataFrame({"key": keys}).join(
                table.filter(pl.col("eval_set") == "pool"), on="key", how="left", maintain_order="left"
            )
            if pool["phi"].null_count():
                raise ValueError(
                    f"LiRA model of {run} lacks the pool's confidences for {pool['phi'].null_count()} images"
                )
            # the confidences line up with the membership matrix by key, or every attack would read noise
            if not pool["key"].equals(keys):
                raise ValueError(f"LiRA model of {run}: the pool's confidences are not in the membership's key order")
            # one column per query (the image; its mirror with privacy.lira.mirror): (images, queries)
            phi.append(pool.select(pl.col("^phi.*$")).to_numpy())
            test = table.filter(pl.col("eval_set") == "test")
            accuracy.append(float((test["prediction"] == test["label"]).mean()))
        summary, roc = evaluate(np.stack(phi), member)  # (models, images, queries)
        attacks.append(
            summary.with_columns(
                run=pl.lit(run), test_accuracy=pl.lit(float(np.mean(accuracy))), test_images=pl.lit(test.height)
            )
        )
        curves.append(roc.with_columns(run=pl.lit(run)))
        for row in summary.iter_rows(named=True):
            log.info(
                "%-22s %-24s AUC %.3f, TPR %.4f at 0.1%% FPR, %.4f at 1%% FPR "
                "(%d targets, %d members + %d non-members)",
                run,
                row["attack"],
                row["auc"],
                row["tpr_at_0.1pct_fpr"],
                row["tpr_at_1pct_fpr"],
                row["targets"],
                row["members"],
                row["non_members"],
            )
    for table, out in ((pl.concat(attacks), snakemake.output.attacks), (pl.concat(curves), snakemake.output.roc)):
        write_frame(out, table)
    result_figure(
        "lira",
        [snakemake.output.attacks, snakemake.output.roc],
        snakemake.output.plot,
        trainset=snakemake.wildcards.trainset,
    )
