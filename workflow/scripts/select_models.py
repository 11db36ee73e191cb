"""select_models: seed 000's selection protocols (ES, RSS, ES + RSS, HPS against random, the standard
protocol and the oracle) for every selection set (the synthetic sets and the augmented training split),
and the calibration sweep and the Corollary 3.3 check for every synthetic set."""

import polars as pl

from synthval.io import atomic_path
from synthval.runtime import setup
from synthval.selection import model_errors
from synthval.selection.calibration import calibration_sweep, corollary_check
from synthval.selection.protocols import es_rss_table, hps_table, summaries_frame, with_members
from synthval.selection.ranking import last_epoch

p = snakemake.params
seed = p.seed % 2**31  # numpy's and scipy's bootstraps take 32-bit seeds
log = setup(snakemake.threads, seed=seed, log_file=snakemake.log[0])
settings = p.settings
predictions = pl.concat([pl.read_parquet(f) for f in snakemake.input.predictions])
errors = model_errors(predictions)
members = with_members(errors)
train_last = last_epoch(members).filter(pl.col("split") == "train")
test = dict(train_last.filter(pl.col("eval_set") == "test").select("model", "error").iter_rows())
tv = {}
for path in snakemake.input.quality:
    table = pl.read_parquet(path).filter(pl.col("class") == "all", pl.col("metric") == "tv")
    tv[table["generator"][0]] = float(table["value"][0])

protocols, calibration, corollary = [], [], []
for eval_set in p.selection_sets:
    rows = es_rss_table(errors, eval_set, settings["repeats"], seed) + hps_table(errors, eval_set, settings["repeats"], seed)
    protocols.append(summaries_frame(rows, eval_set=eval_set))
    for row in rows:
        log.info("%s %s: test error %.4f [%.4f, %.4f], regret %.4f", eval_set, row.protocol, row.test_error, row.low, row.high, row.regret)
for generator in p.generators:
    synthetic = dict(train_last.filter(pl.col("eval_set") == generator).select("model", "error").iter_rows())
    corollary.append({"generator": generator, **corollary_check(synthetic, test, tv[generator])})
    sweep = calibration_sweep(predictions, members, generator, settings["calibration_models"], settings["ridge"], settings["calibration_draws"],
                              seed)
    if sweep.height:
        calibration.append(sweep)
        for best in sweep.filter(pl.col("spearman").is_not_nan()).sort("spearman", descending=True).head(1).iter_rows(named=True):
            log.info("%s calibration: rho %.3f uncalibrated, %.3f with %d models and lambda %g", generator, best["uncalibrated_spearman"],
                     best["spearman"], best["calibration_models"], best["ridge"])
    else:
        log.warning("no calibration for %s: it needs members trained on the fit sub-split (zoo.train_splits: [train, fit])", generator)

with atomic_path(snakemake.output.protocols) as tmp:
    pl.concat(protocols).write_parquet(tmp)
with atomic_path(snakemake.output.calibration) as tmp:
    (pl.concat(calibration) if calibration else pl.DataFrame(schema={"generator": pl.String})).write_parquet(tmp)
with atomic_path(snakemake.output.corollary) as tmp:
    pl.DataFrame(corollary).write_parquet(tmp)
