"""select_models: Shoshan et al.'s selection protocols (ES, RSS, ES + RSS, HPS against random, the standard
protocol and the oracle, and the paired synthetic-minus-standard difference) for every selection set
(the synthetic sets and the augmented training split), per group of the zoo and pooled; and the
calibration sweep with its operating point and the Corollary 3.3 check for every synthetic set."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthval.io import read_frame, write_frame
from synthval.metrics import TV, TV_FLOOR
from synthval.runtime import setup
from synthval.selection import model_errors
from synthval.selection.calibration import calibration_sweep, corollary_check
from synthval.selection.protocols import protocol_tables
from synthval.selection.ranking import last_epoch, with_members


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/select_models.py."""
    p = snakemake.params
    seed = p.seed % 2**31  # the HPS resamples' and the calibration draws' seed
    log = setup(snakemake.threads, seed=seed, log_file=snakemake.log[0])
    settings = p.settings
    predictions = pl.concat([read_frame(f) for f in snakemake.input.predictions])
    errors = model_errors(predictions)
    members = with_members(errors, p.groups)
    train_last = last_epoch(members).filter(pl.col("split") == "train")
    test = dict(train_last.filter(pl.col("eval_set") == "test").select("model", "error").iter_rows())
    tv = {}
    for path in snakemake.input.quality:
        table = read_frame(path).filter(pl.col("class") == "all")
        values = dict(table.select("metric", "value").iter_rows())
        tv[table["generator"][0]] = (values[TV], values.get(TV_FLOOR, float("nan")))

    protocols, calibration, corollary = [], [], []
    for eval_set in p.selection_sets:
        table = protocol_tables(errors, eval_set, p.groups, settings["repeats"], seed)
        protocols.append(table)
        for row in table.iter_rows(named=True):
            log.info(
                "%s, group %s, %s: test error %.4f [%.4f, %.4f] (%s), regret %.4f %s",
                eval_set,
                row["group"],
                row["protocol"],
                row["test_error"],
                row["low"],
                row["high"],
                row["interval"],
                row["regret"],
                row["chosen"],
            )
    for generator in p.generators:
        synthetic = dict(train_last.filter(pl.col("eval_set") == generator).select("model", "error").iter_rows())
        corollary.append({"generator": generator, **corollary_check(synthetic, test, *tv[generator])})
        sweep = calibration_sweep(
            predictions,
            members,
            generator,
            settings["calibration_models"],
            settings["ridge"],
            settings["calibration_draws"],
            seed,
            settings["calibration_point"],
        )
        if sweep.height:
            calibration.append(sweep)
            for point in sweep.filter(pl.col("chosen")).iter_rows(named=True):
                log.info(
                    "%s calibration, group %s: rho %.3f uncalibrated, %.3f at the operating point "
                    "(%d models, lambda %g; chosen by %s)",
                    generator,
                    point["group"],
                    point["uncalibrated_spearman"],
                    point["spearman"],
                    point["calibration_models"],
                    point["ridge"],
                    point["chosen_by"],
                )
        else:
            log.warning(
                "no calibration for %s: it needs members trained on the fit sub-split (zoo.train_splits: [train, fit])",
                generator,
            )

    write_frame(snakemake.output.protocols, pl.concat(protocols))
    write_frame(
        snakemake.output.calibration,
        pl.concat(calibration) if calibration else pl.DataFrame(schema={"generator": pl.String}),
    )
    write_frame(snakemake.output.corollary, pl.DataFrame(corollary))
