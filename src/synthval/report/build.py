"""Assemble the report from the workflow's tables and figures (it never re-runs a network)."""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl
import yaml

from synthval.io import read_json, read_metadata
from synthval.metrics.quality import HIGHER_IS_BETTER, LOWER_IS_BETTER
from synthval.report.figures import generator_history, quality_curves
from synthval.report.html import Report, image_tag, run_metadata, table_html
from synthval.selection import last_epoch

T = TypeVar("T")


def build_report(out: str | Path, *, title: str, config: dict, summaries: dict[str, str | Path], generators: dict[tuple[str, str], dict[str, str]],
                 references: dict[str, str | Path], histories: dict[str, list[str | Path]], errors: dict[str, str | Path], ranks: dict[str, str | Path], scatters: dict[str, str | Path],
                 quality: dict[str, dict[str, list[str | Path]]], selection: dict[str, dict[str, str | Path]]) -> None:
    """``generators`` maps (trainset, generator) to {"weights", "grid", "manifest"} paths; the dicts of
    reference-classifier histories, zoo histories (a list of files each), errors, ranks, scatters and
    quality ({"tables": [...], "curves": [...]}, one file per generator) and selection ({"protocols",
    "calibration", "corollary"} tables) are keyed by training-set name."""
    report = Report(title)
    meta = run_metadata()
    report.add("run", "Run", table_html(pl.DataFrame({"item": list(meta), "value": list(meta.values())}))
               + f"<details><summary>configuration (defaults filled)</summary><pre>{html.escape(yaml.safe_dump(config, sort_keys=False))}</pre></details>")
    data = {t: read_json(p) for t, p in summaries.items()}
    report.add("data", "Data and splits", _data_section(data))
    report.add("generators", "Generators", _generator_section(generators, references))
    all_ranks = {t: pl.read_parquet(p) for t, p in ranks.items()}
    report.add("quality", "Synthetic-data quality", _quality_section(quality, all_ranks))
    all_errors = {t: pl.read_parquet(p) for t, p in errors.items()}
    report.add("zoo", "Classifier zoo", _zoo_section(histories, all_errors))
    sizes = {t: d["splits"]["train"]["count"] for t, d in data.items()}
    report.add("rank", "Rank preservation", _rank_section(all_ranks, scatters) + _rank_by_size(all_ranks, sizes))
    tables = {t: {k: pl.read_parquet(p) for k, p in files.items()} for t, files in selection.items()}
    report.add("protocols", "Selection protocols", _protocol_section(tables))
    report.add("calibration", "Calibration", _calibration_section(tables))
    report.add("corollary", "Corollary 3.3", _corollary_section(tables))
    report.add("findings", "Findings", _findings(all_errors, all_ranks, tables))
    report.write(out)


def _data_section(summaries: dict[str, dict]) -> str:
    rows = []
    for trainset, summary in summaries.items():
        for split, info in summary["splits"].items():
            counts = info["per_class"]
            rows.append({"training set": trainset, "split": split, "images": info["count"], "smallest class": min(counts), "largest class": max(counts)})
    summary = next(iter(summaries.values()))  # the pool is the same for every training set
    return (
        f"<p>Source <b>{html.escape(summary['source'])}</b>: {summary['pool']} images of shape {tuple(summary['image_shape'])}, "
        f"{len(summary['class_names'])} classes. Each training set is a seeded draw from the pool; its <b>test</b> split is the rest of the "
        "pool and is used only for the test errors below, never for generator training, selection or calibration. "
        "<b>fit</b>/<b>val</b> is the standard protocol's sub-split of the training set (seed 000 App. C).</p>"
        + table_html(pl.DataFrame(rows))
    )


def _describe_record(meta: dict) -> str:
    record = meta["record"]
    hparams = meta["hparams"]
    family = meta["family"]
    if family == "per_class":
        family, hparams = hparams["member"], hparams["member_hparams"]
    params = ", ".join(f"{k}={v}" for k, v in sorted(hparams.items()))
    chosen = record["chosen_step"]
    steps = f"steps {', '.join(map(str, chosen))} (class 0, 1, ...)" if isinstance(chosen, list) else f"step {chosen}"
    return (f"family <b>{html.escape(family)}</b>, conditioning <b>{html.escape(record.get('conditioning', 'class'))}</b> ({html.escape(params)}); "
            f"trained on <code>{html.escape(record['train_split'])}</code> only. Kept checkpoint: {steps}, by {html.escape(record['selection'])}"
            + (f" of the {html.escape(record['score'])}" if record.get("score") else "") + ".")


def _pseudo_label_table(stats: dict) -> str:
    rows = pl.DataFrame(stats["per_class"]).rename({"predicted": "drawn as class", "confident": f"confidence >= {stats['confidence']}", "kept_fraction": "kept fraction"})
    return (f"<p>Pseudo-labels from the reference classifier: {stats['drawn']} samples drawn; a sample is kept when its top class has softmax "
            f"confidence of at least {stats['confidence']} (seed 001 §3.2), until the class quota is met.</p>" + table_html(rows, floats="{:.3f}"))


def _generator_section(generators: dict[tuple[str, str], dict[str, str]], references: dict[str, str | Path]) -> str:
    parts = []
    for trainset, hist in references.items():
        last = pl.read_parquet(hist).sort("epoch").tail(1).row(0, named=True)
        parts.append(f"<p>Reference classifier <b>{html.escape(last['model'])}</b> on <b>{html.escape(trainset)}</b>, trained on its train split only "
                     f"(it scores generator checkpoints and labels unconditional samples): {last['epoch']} epochs, final training accuracy "
                     f"{last['train_accuracy']:.3f}.</p>")
    with tempfile.TemporaryDirectory() as tmp:
        for (trainset, name), files in generators.items():
            meta = read_metadata(files["weights"])
            record = meta["record"]
            hist_png = Path(tmp) / f"{trainset}-{name}.png"
            generator_history(record.get("members", [record]), hist_png, title=f"{name} on {trainset}")
            manifest = read_json(files["manifest"])
            parts.append(
                f"<h3>{html.escape(name)} on {html.escape(trainset)}</h3><p>{_describe_record(meta)} Synthetic set: {manifest['count']} images "
                f"in {len(manifest['shards'])} shards.</p>"
                f"<figure>{image_tag(hist_png, f'training history of {name}')}<figcaption>training history</figcaption></figure>"
                f"<figure>{image_tag(files['grid'], f'samples of {name}')}<figcaption>samples, one row per class</figcaption></figure>"
                + (_pseudo_label_table(manifest["pseudo_labels"]) if "pseudo_labels" in manifest else "")
            )
    return "".join(parts)


_METRIC_NAMES = {"fid": "FID", "kid": "KID", "precision": "precision", "recall": "recall", "density": "density", "coverage": "coverage",
                 "prd_f8": "PRD F8", "prd_f1_8": "PRD F1/8", "tv": "TV", "arc": "ARC", "mmd": "MMD"}


def _quality_section(quality: dict[str, dict[str, list[str | Path]]], ranks: dict[str, pl.DataFrame]) -> str:
    order = [m for m in _METRIC_NAMES if m in LOWER_IS_BETTER + HIGHER_IS_BETTER]
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for trainset, files in quality.items():
            table = pl.concat([pl.read_parquet(p) for p in files["tables"]])
            extractor = table["extractor"][0]
            overall = table.filter(pl.col("class") == "all").pivot(on="metric", index="generator", values="value")
            rho = ranks[trainset].select(pl.col("eval_set").alias("generator"), pl.col("spearman").alias("Spearman rho"))
            shown = overall.join(rho, on="generator", how="left").select(
                "generator", *[pl.col(m).alias(_METRIC_NAMES[m]) for m in order], "Spearman rho", pl.col("n_real").cast(pl.Int64).alias("real points"),
                pl.col("n_fake").cast(pl.Int64).alias("synthetic points"))
            per_class = (table.filter(pl.col("class") != "all", pl.col("metric").is_in(order))
                         .pivot(on="metric", index=["generator", "class"], values="value")
                         .sort("generator", pl.col("class").cast(pl.Int64)))
            png = Path(tmp) / f"quality-{trainset}.png"
            quality_curves(pl.concat([pl.read_parquet(p) for p in files["curves"]]), png, title=f"synthetic sets of {trainset}")
            parts.append(
                f"<h3>{html.escape(trainset)}</h3><p>Every synthetic set against the real <b>train split</b> of {html.escape(trainset)} (never the test "
                f"split), in the features of the <b>{html.escape(extractor)}</b> extractor. Lower is better for FID, KID, TV, ARC and MMD; higher "
                "for precision, recall, density, coverage and the PRD F-scores. TV is the total variation read off the PRD curve (seed 000 §4.1); "
                "Corollary 3.3 says two models whose synthetic errors differ by more than TV keep their order on real data, so a smaller TV should "
                "go with a higher Spearman rho (from the rank-preservation section).</p>"
                + table_html(shown) + image_tag(png, f"PRD and ARC curves, {trainset}")
                + f"<details><summary>per class</summary>{table_html(per_class)}</details>"
            )
    return "".join(parts)


def _zoo_section(histories: dict[str, list[str | Path]], errors: dict[str, pl.DataFrame]) -> str:
    parts = []
    for trainset, err in errors.items():
        wide = last_epoch(err).pivot(on="eval_set", index=["model", "epoch"], values="error").sort("model")
        hist = pl.concat([pl.read_parquet(p) for p in histories[trainset]])
        final = last_epoch(hist).select("model", "train_accuracy", "loss")
        table = wide.join(final, on="model", how="left")
        parts.append(f"<h3>{html.escape(trainset)}</h3><p>{len(table)} models; top-1 error per evaluation set at the last epoch "
                     "(test = real test split, augmented = the model's own training split augmented, other columns = synthetic sets).</p>" + table_html(table))
    return "".join(parts)


_AUGMENTED = ("<b>augmented</b> is the baseline of Li et al. (2020) (seed 000 §2): augmented copies of each model's own training split "
              "(see <code>augmented_validation</code> in the configuration), no held-out or synthetic images.")


def _set_name(eval_set: str) -> str:
    """How findings name an evaluation set."""
    if eval_set == "augmented":
        return "the <b>augmented training split</b> (Li et al. 2020)"
    return f"the <b>{html.escape(eval_set)}</b> synthetic set"


def _per_trainset(intro: str, items: dict[str, T], render: Callable[[str, T], str]) -> str:
    """An introductory paragraph, then one sub-section per training set."""
    return f"<p>{intro}</p>" + "".join(f"<h3>{html.escape(t)}</h3>{render(t, item)}" for t, item in items.items())


def _rank_section(ranks: dict[str, pl.DataFrame], scatters: dict[str, str | Path]) -> str:
    intro = ("Spearman's rho and Kendall's tau between each evaluation set's model errors and the test errors (seed 000 §4.1), with 95% "
             "bootstrap intervals over models (<code>_low</code>, <code>_high</code>), over the members trained on the train split at their "
             f"last epoch. rho near 1: the set ranks models as real data does. {_AUGMENTED}")
    return _per_trainset(intro, ranks, lambda t, rank: table_html(rank.drop("reference")) + image_tag(scatters[t], f"synthetic vs test error, {t}"))


def rank_by_size(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> pl.DataFrame:
    """Spearman's rho of every evaluation set on every training set, one row per (set, training-set
    size), smallest training set first: how rank preservation changes with the amount of real data."""
    frames = [rank.select("eval_set", "n_models", "spearman", "spearman_low", "spearman_high").with_columns(
        trainset=pl.lit(t), train_images=pl.lit(sizes[t], pl.Int64)) for t, rank in ranks.items()]
    return pl.concat(frames).select("eval_set", "trainset", "train_images", "n_models", "spearman", "spearman_low", "spearman_high").sort(
        "eval_set", "train_images")


def _rank_by_size(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> str:
    if len(ranks) < 2:
        return ("<p>Rank preservation by training-set size needs more than one entry in <code>data.train_sizes</code>; this run has "
                f"one ({', '.join(f'{html.escape(t)}: {n} images' for t, n in sizes.items())}).</p>")
    return ("<h3>By training-set size</h3><p>Spearman rho of each evaluation set on every training set (each with its own generators, "
            "zoo and test split), smallest first.</p>" + table_html(rank_by_size(ranks, sizes)))


def _protocol_section(tables: dict[str, dict[str, pl.DataFrame]]) -> str:
    intro = ("Seed 000 §4.2. Every protocol chooses by the set in the <i>selection</i> column (a synthetic set or <b>augmented</b>; <b>val</b>: the standard "
             "protocol's real validation split, scored with the members trained on the fit sub-split; <b>test</b>: the oracle, a lower bound "
             "no protocol can reach) and is scored by the <b>test</b> error of what it chose. ES: best synthetic epoch per training run; RSS: "
             "best seed per configuration at the last epoch; ES + RSS: best (seed, epoch) per configuration; the baseline is the last epoch "
             "of any seed. HPS: random model, the standard protocol, the synthetic protocol (best model and epoch over the whole zoo on the selection set) and "
             "the oracle. Intervals: 95% bootstrap over configurations; regret: test error minus the oracle's.")

    def render(trainset: str, t: dict[str, pl.DataFrame]) -> str:
        return table_html(t["protocols"].select(pl.col("eval_set").alias("selection set"), "protocol", "selection", pl.col("test_error").alias("test error"),
                                                pl.col("low").alias("95% low"), pl.col("high").alias("95% high"), "regret",
                                                pl.col("units").alias("runs or configurations")))

    return _per_trainset(intro, tables, render)


def _calibration_section(tables: dict[str, dict[str, pl.DataFrame]]) -> str:
    intro = ("Seed 000 §4.4, eq. 1: per-class ridge weights over the synthetic images, fitted so that the weighted synthetic errors of the "
             "calibration models match their real per-class errors. Calibration models are the members trained on the <b>fit</b> sub-split, "
             "and their real errors come from the <b>val</b> split, never the test split; the calibrated errors of the members trained on "
             "the whole train split (never used to calibrate) are then ranked against their test errors. Spearman rho is the mean over "
             "random draws of the calibration models (min and max alongside), next to the uncalibrated rho. With a single calibration "
             "model the centred regression has nothing to fit and every model gets the same estimate, so rho is undefined (NaN).")

    def render(trainset: str, t: dict[str, pl.DataFrame]) -> str:
        if t["calibration"].height == 0:
            return "<p>Not computed: calibration needs members trained on the fit sub-split (<code>zoo.train_splits: [train, fit]</code>).</p>"
        return table_html(t["calibration"].drop("real_split"))

    return _per_trainset(intro, tables, render)


def _corollary_section(tables: dict[str, dict[str, pl.DataFrame]]) -> str:
    intro = ("Seed 000 Corollary 3.3: a pair of models whose synthetic errors differ by more than the total variation TV between the real "
             "and synthetic distributions (estimated from PRD, see the quality section) keeps its order on the test split. Over all pairs "
             "of models trained on the train split, at their last epoch: the share of pairs above TV whose test order agrees (the corollary "
             "predicts 1) and the same share among the other pairs.")
    return _per_trainset(intro, tables, lambda t, item: table_html(item["corollary"]))


def _findings(errors: dict[str, pl.DataFrame], ranks: dict[str, pl.DataFrame], tables: dict[str, dict[str, pl.DataFrame]]) -> str:
    items = []
    for trainset, rank in ranks.items():
        err = errors[trainset]
        test = last_epoch(err).filter(pl.col("eval_set") == "test")["error"]
        for row in rank.iter_rows(named=True):
            rho = row["spearman"]
            strength = ("strong" if rho >= 0.8 else "moderate" if rho >= 0.5 else "weak" if rho > 0
                        else "no (the synthetic set orders models against their test error)" if rho <= 0 else "undefined")
            items.append(
                f"<li>On <b>{html.escape(trainset)}</b>, {_set_name(row['eval_set'])} ranks {row['n_models']} models with "
                f"Spearman rho = {row['spearman']:.3f} (Kendall tau = {row['kendall']:.3f}): {strength} rank preservation; test errors span "
                f"{test.min() * 100:.2f}% to {test.max() * 100:.2f}%.</li>"
            )
    for trainset, t in tables.items():
        hps = t["protocols"].filter(pl.col("protocol").is_in(["synthetic protocol", "standard protocol"]))
        for eval_set in hps["eval_set"].unique(maintain_order=True):
            rows = {r["protocol"]: r for r in hps.filter(pl.col("eval_set") == eval_set).iter_rows(named=True)}
            if len(rows) < 2:
                continue
            syn, std = rows["synthetic protocol"], rows["standard protocol"]
            verdict = "beats" if syn["test_error"] < std["test_error"] else "does not beat"
            items.append(f"<li>On <b>{html.escape(trainset)}</b>, choosing with {_set_name(eval_set)} (test error "
                         f"{syn['test_error'] * 100:.2f}%) {verdict} the standard protocol ({std['test_error'] * 100:.2f}%).</li>")
        cal = t["calibration"]
        if cal.height:
            for generator in cal["generator"].unique(maintain_order=True):
                defined = cal.filter(pl.col("generator") == generator, pl.col("spearman").is_not_nan())
                if defined.height == 0:
                    continue
                best = defined.sort("spearman", descending=True).row(0, named=True)
                items.append(f"<li>Calibrating <b>{html.escape(generator)}</b> on {trainset}: rho {best['uncalibrated_spearman']:.3f} uncalibrated, "
                             f"{best['spearman']:.3f} at best ({best['calibration_models']} calibration models, lambda {best['ridge']:g}).</li>")
    return f"<ul>{''.join(items)}</ul>"
