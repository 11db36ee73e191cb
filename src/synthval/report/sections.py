"""The report's sections: for each, the prose that says what its numbers are (which split chose, which
scored, the interval's unit and method) and the tables and figures that show them. A section gets the
tables :mod:`synthval.report.build` has read and the files it was to read, and says what is missing
where a partial run has not made them yet.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl
import yaml

from synthval.data.splits import split_tables
from synthval.evaluation.robustness import strongest_shift
from synthval.evaluation.study import cas_table, content_gap_summary, method_summary, study_table
from synthval.inference import MIN_CONFIGURATIONS
from synthval.io import read_frame, read_json, read_metadata
from synthval.live import read_live_log
from synthval.metrics import METRICS, directions_sentence
from synthval.metrics.copies import NEAR_COPY_QUANTILE, copy_summary
from synthval.plan.paths import data_manifest
from synthval.plan.report import GeneratorFiles, TrainsetFiles
from synthval.report.figures import Figures
from synthval.report.html import HEADERS, image_tag, missing_html, run_metadata, table_html
from synthval.runtime import stage_times
from synthval.selection.ranking import ALL, TRAIN_MEMBERS, last_epoch, pooled_note, rank_by_size
from synthval.selection.worth import worth_cell
from synthval.zoo import zoo_table


def shown(table: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """The ``columns`` of a table (and only those it has) under their names in the report."""
    return table.select(pl.col(name).alias(label) for name, label in columns.items() if name in table.columns)


def missing_files(*paths: str | Path) -> list[str]:
    """The paths that are not files (yet)."""
    return [str(p) for p in paths if not Path(p).is_file()]


def run_section(config: dict, benchmarks: str | Path | None) -> str:
    meta = run_metadata()
    parts = [table_html(pl.DataFrame({"item": list(meta), "value": list(meta.values())}))]
    times = stage_times(benchmarks) if benchmarks and Path(benchmarks).is_dir() else None
    if times is not None and times.height:
        parts.append(
            "<h3>Time per stage</h3><p>From each rule's <code>benchmark:</code> file (jobs that ran in parallel "
            "overlap, so the sums exceed the elapsed time; the longest job bounds a stage from below). The "
            "benchmarks of the latest run of each job: a job that did not rerun keeps its earlier "
            "figures.</p>" + table_html(times, floats="{:.1f}")
        )
    else:
        parts.append('<p class="note">No benchmark files yet (results/benchmarks).</p>')
    parts.append(
        "<details><summary>configuration (defaults "
        f"filled)</summary><pre>{html.escape(yaml.safe_dump(config, sort_keys=False))}</pre></details>"
    )
    return "".join(parts)


# --- data ---

_SPLIT_USE = [
    (
        "train",
        "trains the generators, the reference classifier and the zoo; the real side of every quality metric; "
        "augmented copies of it are the augmented baseline's evaluation set",
    ),
    ("fit", "a sub-split of train: the standard protocol's and calibration's models train on it"),
    ("val", "train minus fit: the standard protocol's validation set and calibration's real errors"),
    (
        "test",
        "the rest of the pool: only the test errors (rank correlations, the score of every selection protocol); "
        "never generator training, selection or calibration",
    ),
]


def data_section(summaries: dict[str, dict], trainsets: dict[str, TrainsetFiles]) -> str:
    absent = [f.summary for t, f in trainsets.items() if t not in summaries]
    if not summaries:
        return missing_html("the data splits", absent)
    rows, balance = split_tables(summaries)
    summary = next(iter(summaries.values()))  # the pool is the same for every training set
    uses = pl.DataFrame({"split": [s for s, _ in _SPLIT_USE], "used for": [u for _, u in _SPLIT_USE]})
    return (
        f"<p>Source <b>{html.escape(summary['source'])}</b>: {summary['pool']} images of shape "
        f"{tuple(summary['image_shape'])}, "
        f"{len(summary['class_names'])} classes. Each training set is a seeded draw from the pool; its <b>test</b> "
        "split is the rest of the "
        "pool. <b>fit</b>/<b>val</b> is the standard protocol's sub-split of the training set (seed 000 App. C).</p>"
        + table_html(rows, floats="{:.2f}")
        + "<h3>Which split each number uses</h3>"
        + table_html(uses)
        + f"<details><summary>class balance (images per class)</summary>{table_html(balance)}</details>"
        + (missing_html("some training sets' splits", absent) if absent else "")
    )


# --- generators ---


def _describe_record(meta: dict) -> str:
    record = meta["record"]
    hparams = meta["hparams"]
    family = meta["family"]
    if family == "per_class":
        family, hparams = hparams["member"], hparams["member_hparams"]
    params = ", ".join(f"{k}={v}" for k, v in sorted(hparams.items()))
    chosen = record["chosen_step"]
    steps = f"steps {', '.join(map(str, chosen))} (class 0, 1, ...)" if isinstance(chosen, list) else f"step {chosen}"
    return (
        f"family <b>{html.escape(family)}</b>, conditioning "
        f"<b>{html.escape(record.get('conditioning', 'class'))}</b> ({html.escape(params)}); trained on "
        f"<code>{html.escape(record['train_split'])}</code> only. Kept checkpoint: {steps}, by "
        f"{html.escape(record['selection'])}"
        + (f" of the {html.escape(record['score'])}" if record.get("score") else "")
        + "."
    )


def _pseudo_label_table(stats: dict) -> str:
    rows = pl.DataFrame(stats["per_class"]).rename(
        {
            "predicted": "drawn as class",
            "confident": f"confidence >= {stats['confidence']}",
            "kept_fraction": "kept fraction",
        }
    )
    return (
        f"<p>Pseudo-labels from the reference classifier: {stats['drawn']} samples drawn; a sample is kept when its "
        "top class has softmax "
        f"confidence of at least {stats['confidence']} (seed 001 §3.2), until the class quota is met.</p>"
        + table_html(rows, floats="{:.3f}")
    )


def generator_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> str:
    parts = []
    for trainset, f in trainsets.items():
        if missing_files(f.reference):
            parts.append(missing_html(f"the reference classifier of {trainset}", [f.reference]))
        else:
            last = read_frame(f.reference).sort("epoch").tail(1).row(0, named=True)
            parts.append(
                f"<p>Reference classifier <b>{html.escape(last['model'])}</b> on <b>{html.escape(trainset)}</b>, "
                "trained on its train split "
                f"only (it scores generator checkpoints and labels unconditional samples): {last['epoch']} epochs, "
                "final training "
                f"accuracy {last['train_accuracy']:.3f}.</p>"
            )
        for name, g in f.generators.items():
            parts.append(f"<h3>{html.escape(name)} on {html.escape(trainset)}</h3>")
            if g.weights is None:
                parts.append(_imported(name, g))
                continue
            if missing_files(g.weights):
                parts.append(missing_html(f"generator {name}", [g.weights], "It has not finished training."))
                parts.append(_live_generator(name, trainset, g, figure))
                continue
            text = _describe_record(read_metadata(g.weights))
            manifest = None if missing_files(g.manifest) else read_json(g.manifest)
            if manifest:
                text += f" Synthetic set: {manifest['count']} images in {len(manifest['shards'])} shards."
            history = figure(
                "generator_history",
                g.history_plot,
                [g.weights],
                trainset=trainset,
                generator=name,
                alt=f"training history of {name}",
                what=f"the training history of {name}",
            )
            grid = (
                image_tag(g.grid, f"samples of {name}")
                if not missing_files(g.grid)
                else missing_html(f"samples of {name}", [g.grid], "Its synthetic set is not written yet.")
            )
            parts.append(
                f"<p>{text}</p><figure>{history}<figcaption>training history; circled: the kept "
                "checkpoint</figcaption></figure>"
                f"<figure>{grid}<figcaption>samples, one row per class</figcaption></figure>"
                + (_pseudo_label_table(manifest["pseudo_labels"]) if manifest and "pseudo_labels" in manifest else "")
            )
    return "".join(parts)


def _live_generator(name: str, trainset: str, g: GeneratorFiles, figure: Figures) -> str:
    """A generator still training: its losses and scores so far, and its latest sample grid."""
    if g.live is None or missing_files(g.live):
        return ""
    records = read_live_log(g.live)
    step = max((r["step"] for r in records), default=0)
    history = figure(
        "generator_live",
        f"{g.live}.svg",  # never written: always drawn from the log as it is now
        [g.live],
        trainset=trainset,
        generator=name,
        alt=f"training history of {name} so far",
        what=f"the training history of {name} so far",
    )
    grids = sorted(Path(g.live_grids).glob("step-*.png")) if g.live_grids and Path(g.live_grids).is_dir() else []
    grid = (
        f"<figure>{image_tag(grids[-1], f'samples of {name} at {grids[-1].stem}')}<figcaption>samples at "
        f"{grids[-1].stem.replace('-', ' ')}, one row per class</figcaption></figure>"
        if grids
        else ""
    )
    return (
        f"<p>Training so far (step {step}; from <code>{html.escape(g.live)}</code>, appended as it trains):</p>"
        f"<figure>{history}<figcaption>training history so far</figcaption></figure>{grid}"
    )


def _imported(name: str, g: GeneratorFiles) -> str:
    """An imported set: where it came from, what the import checked and changed, its samples."""
    if missing_files(g.manifest):
        return missing_html(f"imported samples {name}", [g.manifest], "They are not imported yet.")
    info = read_json(g.manifest)["imported"]
    counts = info["per_class"]
    shape = "x".join(map(str, info["source_shape"]))
    converted = f", converted from {shape}" if info["converted"] else f" ({shape}, as the data)"
    grid = (
        image_tag(g.grid, f"samples of {name}")
        if not missing_files(g.grid)
        else missing_html(f"samples of {name}", [g.grid], "Its grid is not drawn yet.")
    )
    return (
        f"<p>Imported samples (made outside this workflow, not trained here) from <code>{html.escape(info['path'])}"
        f"</code> ({html.escape(info['kind'])}, sha256 <code>{info['sha256'][:12]}</code>): {info['count']} images"
        f"{converted}; per class {min(counts)} to {max(counts)} (imbalance {max(counts) / min(counts):.2f}).</p>"
        f"<figure>{grid}<figcaption>samples, one row per class</figcaption></figure>"
    )


# --- quality ---


def quality_section(
    trainsets: dict[str, TrainsetFiles],
    ranks: dict[str, pl.DataFrame],
    figure: Figures,
    studies: dict[str, pl.DataFrame],
) -> str:
    order = [m.name for m in METRICS if m.headline]
    parts = [
        "<p>Every synthetic set against the real <b>train split</b> (never the test split), in the features named "
        f"below. {directions_sentence()} "
        "TV is the total variation read off the PRD curve (seed 000 §4.1); Corollary 3.3 says two "
        "models whose synthetic errors differ by more than TV keep their order on real data, so a smaller TV should "
        "go with a higher Spearman rho (from the rank-preservation section). CAS, the Classification Accuracy Score, "
        "is the real test accuracy of the study's network trained on 1x synthetic data only (mean over seeds; see "
        "the training section).</p>"
    ]
    for trainset, f in trainsets.items():
        parts.append(f"<h3>{html.escape(trainset)}</h3>")
        present = {g: q for g, q in f.generators.items() if not missing_files(q.quality)}
        absent = [q.quality for g, q in f.generators.items() if g not in present]
        if not present:
            parts.append(missing_html(f"quality metrics of {trainset}", absent))
            continue
        table = pl.concat([read_frame(q.quality) for q in present.values()])
        overall = table.filter(pl.col("class") == "all").pivot(on="metric", index="generator", values="value")
        columns = ["generator", *[m for m in order if m in overall.columns]]
        if trainset in ranks:
            rho = (
                ranks[trainset]
                .filter(pl.col("ranked") == TRAIN_MEMBERS, pl.col("group") == ALL)
                .select(pl.col("eval_set").alias("generator"), pl.col("spearman").alias("Spearman rho"))
            )
            overall, columns = overall.join(rho, on="generator", how="left"), [*columns, "Spearman rho"]
        if trainset in studies and (cas := cas_table(studies[trainset])).height:
            overall, columns = overall.join(cas, on="generator", how="left"), [*columns, "CAS"]
        shown = overall.select(
            *columns,
            pl.col("n_real").cast(pl.Int64).alias("real points"),
            pl.col("n_fake").cast(pl.Int64).alias("synthetic points"),
        )
        per_class = (
            table.filter(pl.col("class") != "all", pl.col("metric").is_in(order))
            .pivot(on="metric", index=["generator", "class"], values="value")
            .sort("generator", pl.col("class").cast(pl.Int64))
        )
        curves = [q.curves for q in f.generators.values()]
        plot = figure(
            "quality",
            f.quality_plot,
            curves,
            trainset=trainset,
            alt=f"PRD and ARC curves, {trainset}",
            what=f"PRD and ARC curves of {trainset}",
        )
        parts.append(
            f"<p>Features of the <b>{html.escape(table['extractor'][0])}</b> extractor.</p>"
            + table_html(shown, percent=["CAS"])
            + plot
            + f"<details><summary>per class</summary>{table_html(per_class)}</details>"
            + (missing_html("the quality metrics of some generators", absent) if absent else "")
        )
    return "".join(parts)


# --- copies ---


def copies_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> str:
    intro = (
        "Seed 003 App. G: is a synthetic image a copy of a training image? For every synthetic image, the cosine "
        "similarity to its nearest image of the <b>train split</b> in the quality extractor's features; beside it, "
        "the same for the <b>test split</b>'s images, real images the generators never saw (the test split only "
        "serves as this unseen reference; nothing is chosen with it). A generator that memorises puts its images "
        "closer to the training set than unseen real images come. <i>Near copies</i>: the share of synthetic images "
        f"more similar to their nearest training image than {NEAR_COPY_QUANTILE:.0%} of the test images are to "
        f"theirs (about {1 - NEAR_COPY_QUANTILE:.0%} when the set copies no more than chance); the closest pairs "
        "show each set's most similar images above their nearest training images."
    )

    def render(t: str, f: TrainsetFiles) -> str:
        present = {g: path for g, path in f.copies.items() if not missing_files(path)}
        if not present:
            return missing_html(f"copy detection of {t}", list(f.copies.values()))
        rows = [{"generator": g, **copy_summary(read_frame(path))} for g, path in present.items()]
        manifests = [data_manifest(t, "train")] + [g.manifest for g in f.generators.values()]
        histograms = figure(
            "copies",
            f.copies_plot,
            list(present.values()),
            trainset=t,
            alt=f"copy detection, {t}",
            what="the copy-detection figure",
        )
        pairs = figure(
            "copy_pairs",
            f.copy_pairs_plot,
            [*present.values(), *manifests],
            trainset=t,
            alt=f"closest pairs, {t}",
            what="the closest pairs",
        )
        absent = [path for g, path in f.copies.items() if g not in present]
        return (
            table_html(pl.DataFrame(rows), floats="{:.3f}")
            + histograms
            + pairs
            + (missing_html("the copy detection of some sets", absent) if absent else "")
        )

    return _per_trainset(intro, trainsets, render)


# --- zoo ---


def zoo_section(config: dict, trainsets: dict[str, TrainsetFiles], errors: dict[str, pl.DataFrame]) -> str:
    parts = [
        "<p>Top-1 error per evaluation set at each model's last epoch (<b>test</b> = the real test split, "
        "<b>augmented</b> = the model's own training split augmented, other columns = synthetic sets). Click a "
        "column to sort. Architectures <code>rwnnNN</code> are random-graph networks, one graph per NN (seed 000 "
        "App. C). The table lists the members trained on the train split; the members trained on the fit sub-split "
        "serve only the standard protocol and calibration.</p>"
    ]
    for trainset, f in trainsets.items():
        parts.append(f"<h3>{html.escape(trainset)}</h3>")
        present = [p for p in f.histories if not missing_files(p)]
        if not present:
            parts.append(missing_html(f"the zoo of {trainset}", f.histories, "No classifier has finished training."))
            continue
        hist = last_epoch(pl.concat([read_frame(p) for p in present])).select(
            "model", pl.col("train_accuracy").alias("train accuracy"), pl.col("loss").alias("train loss")
        )
        table = zoo_table(config, hist["model"].sort()).join(hist, on="model", how="left")
        if trainset in errors:
            wide = last_epoch(errors[trainset]).pivot(on="eval_set", index="model", values="error")
            sets = ["test", *sorted(c for c in wide.columns if c not in ("model", "test"))]
            table = table.join(
                wide.select("model", *[pl.col(s).alias(f"{s} error") for s in sets]), on="model", how="left"
            )
        parts.append(
            f"<p>{table.height} of {len(f.histories)} models trained.</p>"
            + table_html(table, percent=[c for c in table.columns if c.endswith(" error") or c == "train accuracy"])
            + (
                ""
                if trainset in errors
                else missing_html(f"the errors of {trainset}'s models", [f.errors], "Predictions are not all in.")
            )
            + (
                f"<figure>{image_tag(f.class_errors, f'error per class, {trainset}')}<figcaption>error per "
                "class on each evaluation set, mean over models at their last epoch: where a synthetic set's "
                "row departs from the test row, it misjudges that class</figcaption></figure>"
                if not missing_files(f.class_errors)
                else ""
            )
        )
    return "".join(parts)


# --- rank ---

RANK_COLUMNS = {
    "eval_set": "ranked by",
    "ranked": "models",
    "group": "group",
    "n_models": "models (n)",
    "n_configs": "configurations",
    **{name: HEADERS[name] for name in ("spearman", "spearman_low", "spearman_high", "kendall")},
    "p_value": "p (permutation)",
    "interval": "interval",
    "interval_unit": "unit",
    "configs_needed": "configurations to settle",
    "worth": "worth in real images [95%]",
}

_AUGMENTED = (
    "<b>augmented</b> is the baseline of Li et al. (2020) (seed 000 §2): augmented copies of each model's own "
    "training split (see <code>augmented_validation</code> in the configuration), no held-out or synthetic images."
)


def _per_trainset(intro: str, trainsets: dict[str, TrainsetFiles], render: Callable[[str, TrainsetFiles], str]) -> str:
    """An introductory paragraph, then one sub-section per training set."""
    return f"<p>{intro}</p>" + "".join(f"<h3>{html.escape(t)}</h3>{render(t, f)}" for t, f in trainsets.items())


def rank_section(
    trainsets: dict[str, TrainsetFiles],
    ranks: dict[str, pl.DataFrame],
    worths: dict[str, pl.DataFrame],
    figure: Figures,
) -> str:
    intro = (
        "Spearman's rho and Kendall's tau between the errors on a set (the set that ranks) and the errors on the "
        "<b>test</b> split (the split that scores), at each model's last epoch (seed 000 §4.1, Fig. 3), over "
        "<b>configurations</b>: each configuration's error is the mean over its seeds on both sets, because seeds "
        "of one configuration are near-duplicates, not independent evidence. <i>train members</i>: the models "
        "trained on the whole train split, ranked by a synthetic set or the augmented training split. The real "
        "baselines: <b>val</b> over <i>fit members</i> ranks the models trained on the fit sub-split by their val "
        "errors against their own test errors (Fig. 3 row 2), and <b>val</b> over <i>configurations</i> ranks each "
        "configuration by its fit members' mean val error against its train members' mean test error, the "
        "architecture-ranking shift the standard protocol lives with (Fig. 3 row 3). Every row is given pooled "
        "(group <b>all</b>) and per group of similar models; a pooled rho can be carried by the gap between groups "
        "while each group is ranked poorly, so read them together. Intervals: 95% Fisher z with Bonett-Wright "
        "variance over configurations (none below 4); p: exact permutation test of the pairing (all pairings up to "
        f"7 configurations). A verdict needs {MIN_CONFIGURATIONS} configurations (bench/results/coverage.md); "
        "<i>configurations to settle</i> says how many a row without one would need at its rho. <i>worth in real "
        "images</i>: how many labelled real images rank the configurations as well as the set does (one half of the"
        f" test split draws them, the other scores; see the figure). {_AUGMENTED}"
    )

    def render(t: str, f: TrainsetFiles) -> str:
        if t not in ranks:
            return missing_html(f"rank correlations of {t}", [f.rank])
        scatter = (
            image_tag(f.scatter, f"synthetic vs test error, {t}")
            if not missing_files(f.scatter)
            else missing_html("the scatter plot", [f.scatter])
        )
        notes = [
            f"<li>{html.escape(s)}: {html.escape(n)}.</li>"
            for s in ranks[t]["eval_set"].unique(maintain_order=True)
            if (n := pooled_note(ranks[t], s))
        ]
        table = ranks[t]
        if t in worths:
            cells = worths[t].select(
                "eval_set",
                "group",
                pl.lit(TRAIN_MEMBERS).alias("ranked"),
                pl.struct("real_images", "real_images_low", "real_images_high")
                .map_elements(lambda w: worth_cell(*w.values()), return_dtype=pl.String)
                .alias("worth"),
            )
            table = table.join(cells, on=["eval_set", "ranked", "group"], how="left", maintain_order="left")
        worth_figure = figure(
            "worth",
            Path(f.worth).with_suffix(".svg"),
            [f.worth, f.worth_curve],
            trainset=t,
            alt=f"real-image curve, {t}",
            what="the real-image curve",
        )
        return (
            table_html(shown(table, RANK_COLUMNS), floats="{:.3f}")
            + (f"<ul>{''.join(notes)}</ul>" if notes else "")
            + scatter
            + worth_figure
        )

    return _per_trainset(intro, trainsets, render)


def rank_by_size_section(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> str:
    if len(sizes) < 2:
        return (
            "<p>Rank preservation by training-set size needs more than one entry in <code>data.train_sizes</code>; "
            "this run has "
            f"one ({', '.join(f'{html.escape(t)}: {n} images' for t, n in sizes.items())}).</p>"
        )
    if len([t for t in ranks if t in sizes]) < 2:
        return (
            "<p>Rank preservation by training-set size: waiting for the rank correlations of at least two training "
            "sets.</p>"
        )
    return (
        "<h3>By training-set size</h3><p>Spearman rho of each evaluation set on every training set (each with its "
        "own generators, zoo and test split), smallest first.</p>" + table_html(rank_by_size(ranks, sizes))
    )


# --- selection ---

# the columns of the selection tables in the report, under their names there
PROTOCOL_COLUMNS = {
    "eval_set": "selection set",
    "group": "group",
    "protocol": "protocol",
    "selection": "chosen by",
    "test_error": "test error",
    "low": "95% low",
    "high": "95% high",
    "regret": "regret",
    "units": "configurations",
    "interval": "interval",
    "interval_unit": "unit",
    "p_value": "p",
    "chosen": "chosen",
}
CALIBRATION_COLUMNS = {
    "generator": "generator",
    "group": "group",
    "calibration_models": "calibration models",
    "ridge": "ridge",
    "draws": "draws",
    "spearman": "rho vs test",
    "spearman_min": "min",
    "spearman_max": "max",
    "uncalibrated_spearman": "uncalibrated rho",
    "change": "change of rho",
    "change_low": "change 95% low",
    "change_high": "change 95% high",
    "p_value": "p",
    "loo_spearman": "loo rho",
    "loo_mae": "loo MAE",
    "chosen": "chosen",
    "evaluation_models": "ranked models",
    "evaluation_configs": "ranked configurations",
}
COROLLARY_NAMES = {
    "tv": "TV",
    "tv_floor": "TV floor",
    "pairs": "pairs",
    "pairs_above_tv": "pairs above TV",
    "preserved_above_tv": "kept above TV",
    "pairs_above_2tv": "pairs above 2 TV",
    "preserved_above_2tv": "kept above 2 TV",
    "pairs_below_tv": "pairs below TV",
    "preserved_below_tv": "kept below TV",
}


def _selection_render(
    tables: dict[str, dict[str, pl.DataFrame]],
    figure: Figures,
    key: str,
    what: str,
    plotted: bool = False,
    select: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    empty: str = "",
    percent: tuple[str, ...] = (),
) -> Callable[[str, TrainsetFiles], str]:
    """One training set's part of a selection section: its figure (``plotted``: there is one) and table, or
    what is missing; ``empty``: the text for a table with no rows; ``percent``: its columns of fractions."""

    def render(trainset: str, f: TrainsetFiles) -> str:
        if key not in tables[trainset]:
            return missing_html(f"the {what} of {trainset}", [getattr(f, key)])
        table = tables[trainset][key]
        if table.height == 0 and empty:
            return empty
        plot = (
            figure(
                key,
                getattr(f, f"{key}_plot"),
                [getattr(f, key)],
                trainset=trainset,
                alt=f"{what}, {trainset}",
                what=f"the {what} figure",
            )
            if plotted
            else ""
        )
        return plot + table_html(select(table) if select else table, percent=percent)

    return render


def protocol_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> str:
    intro = (
        "Seed 000 §4.2. Every protocol chooses by the set in the <i>chosen by</i> column (a synthetic set or "
        "<b>augmented</b>; <b>val</b>: the standard protocol's real validation split, with the members trained on "
        "the fit sub-split; <b>test</b>: the oracle, a lower bound no protocol can reach; <b>none</b>: random) and "
        "is scored by the <b>test</b> error of what it chose. ES: best epoch per training run; RSS: best seed per "
        "configuration at the last epoch; ES + RSS: best (seed, epoch) per configuration; the baseline is the last "
        "epoch of any seed. HPS: random model, the standard protocol, the synthetic protocol (best model and epoch "
        "over the whole zoo on the selection set) and the oracle; <b>synthetic minus standard</b> is their paired "
        "difference in test error on the same resamples (negative: the selection set chose better than the 25% "
        "hold-out). Rows for the pooled zoo (group <b>all</b>) and each group. ES, RSS and ES + RSS are each compared "
        "with the baseline as a paired difference per configuration (<i>minus baseline</i> rows): 95% Student-t "
        "intervals and p-values over configurations, with the test images fixed (test-image sampling noise is not "
        "in them); these carry the verdicts. The HPS figures are one pick from the whole pool, one replicate per "
        "zoo: their range over configuration resamples is labelled as the sensitivity to the configuration pool it "
        "is, and no verdict is drawn from it. Regret: test error minus the oracle's. The figure shows the pooled "
        "zoo; the oracle is dashed."
    )
    return _per_trainset(
        intro,
        trainsets,
        _selection_render(
            tables,
            figure,
            "protocols",
            "selection protocols",
            True,
            partial(shown, columns=PROTOCOL_COLUMNS),
            percent=("test error", "95% low", "95% high", "regret"),
        ),
    )


def calibration_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> str:
    intro = (
        "Seed 000 §4.4, eq. 1: per-class ridge weights over the synthetic images, fitted so that the weighted "
        "synthetic errors of the calibration models match their real per-class errors. Calibration models are the "
        "members trained on the <b>fit</b> sub-split, and their real errors come from the <b>val</b> split, never "
        "the test split; the calibrated errors of the members trained on the whole train split (never used to "
        "calibrate) are then ranked against their <b>test</b> errors, pooled and per group. The sweep over "
        "(calibration models, ridge) is shown as a sweep: rho is the mean over random draws of the calibration "
        "models (min and max alongside; the band in the figure), against the uncalibrated rho (dashed). The "
        "<b>operating point</b> the findings quote (starred, <i>chosen</i>) is fixed in the config or chosen by "
        "leave-one-model-out on the calibration models alone (<i>loo rho</i>, <i>loo MAE</i>: each calibration "
        "model's calibrated error, predicted from the others, against its own val error); the test split never "
        "chooses it. With a single calibration model the centred regression has nothing to fit and every model gets "
        "the same estimate, so rho is undefined (NaN)."
    )
    empty = (
        "<p>Not computed: calibration needs members trained on the fit sub-split (<code>zoo.train_splits: [train, "
        "fit]</code>).</p>"
    )

    return _per_trainset(
        intro,
        trainsets,
        _selection_render(
            tables,
            figure,
            "calibration",
            "calibration sweep",
            True,
            partial(shown, columns=CALIBRATION_COLUMNS),
            empty,
        ),
    )


def corollary_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> str:
    intro = (
        "Seed 000 Corollary 3.3: a pair of models whose synthetic errors differ by more than the total variation TV "
        "between the real and synthetic distributions keeps its order on the test split. TV is estimated from PRD "
        "(the quality section) as 1 - sum min(P, Q), the half-L1 convention; each error can move by up to TV between "
        "the domains, so under it the gap that guarantees the order is 2 TV, and both thresholds are counted. Over "
        "all pairs of models trained on the train split, at their last epoch: the share of pairs above each "
        "threshold whose test order agrees (the corollary predicts 1) and the same share among the pairs below TV. "
        "<i>TV floor</i>: the same estimator between two disjoint halves of the real train split at the synthetic "
        "set's sample size (or half the train split, if smaller): a TV near its floor is at the estimator's "
        "resolution."
    )

    def renamed(df: pl.DataFrame) -> pl.DataFrame:
        return df.rename({k: v for k, v in COROLLARY_NAMES.items() if k in df.columns})

    return _per_trainset(
        intro, trainsets, _selection_render(tables, figure, "corollary", "Corollary 3.3 check", select=renamed)
    )


# --- training with synthetic data ---


TRAINING_INTRO = (
    "Seeds 001-003: the same network trained on the real train split (<b>real</b>), on synthetic data only "
    "(<b>synthetic</b>; at 1x its accuracy is the CAS), on both in every batch (<b>real+synthetic</b>, a "
    "synthetic-to-real ratio per batch: seed 001's augmentation baseline), or first on synthetic then on real "
    "data (<b>synthetic&gt;real</b>, the two-stage baseline), with Pretrained Guidance (a frozen guide's "
    "pairwise feature distances, eq. 1) or Real Guidance (the synthetic gradient projected to at most "
    "perpendicular to the real one, eq. 2) where named. An epoch is one pass over the real split (over the "
    "synthetic set when there is no real data), so a real+synthetic run at ratio r takes (1 + r) times the "
    "optimiser steps of real-only training and a synthetic run at N x takes N times as many; a real method with "
    "more epochs is the compute-matched control. Every number is accuracy on the real <b>test</b> split, read "
    "only after training; cells are the mean over seeds with a 95% Student-t interval. The gain over real-only "
    "training is paired by seed. The generators are the ones trained on the train split above; their training "
    "images are drawn apart from the synthetic validation sets."
)


def _training_gains(summary: pl.DataFrame) -> pl.DataFrame:
    """Every run but real-only: its accuracy and the gain over real-only training, in %, with intervals."""
    return summary.filter(pl.col("method") != "real").select(
        "method",
        "generator",
        "seeds",
        (pl.col("accuracy") * 100).alias("accuracy %"),
        (pl.col("low") * 100).alias("low"),
        (pl.col("high") * 100).alias("high"),
        (pl.col("gain") * 100).alias("gain (points)"),
        (pl.col("gain_low") * 100).alias("gain low"),
        (pl.col("gain_high") * 100).alias("gain high"),
    )


def training_section(
    trainsets: dict[str, TrainsetFiles],
    accuracies: dict[str, pl.DataFrame],
    studies: dict[str, pl.DataFrame],
    figure: Figures,
) -> str:
    def render(t: str, f: TrainsetFiles) -> str:
        files = f.training
        if t not in studies:
            return missing_html(f"the training study of {t}", [files.accuracy], "Its runs have not all finished.")
        summary = studies[t]
        scaling = figure(
            "scaling",
            files.scaling_plot,
            [files.accuracy],
            trainset=t,
            alt=f"scaling, {t}",
            what="the scaling figure",
        )
        gap_plot = figure(
            "content_gap",
            files.content_gap_plot,
            [files.content_gap],
            trainset=t,
            alt=f"content gap, {t}",
            what="the content-gap figure",
        )
        parts = [
            "<h4>Test accuracy (%) by method and generator (seed 001 Table 4)</h4>",
            table_html(study_table(summary)),
            "<h4>Every run against real-only training</h4><p>Accuracy in %, its 95% interval over seeds (low, high), "
            "and the gain over real-only training in points with its interval.</p>",
            table_html(_training_gains(summary), floats="{:.2f}"),
            "<h4>Scaling the synthetic set (seed 003)</h4>",
            scaling,
            "<h4>Content gap (seed 001 Observation 3)</h4>",
            gap_plot,
        ]
        if not missing_files(files.content_gap) and (gap := read_frame(files.content_gap)).height:
            parts.append(table_html(content_gap_summary(gap), floats="{:.3f}"))
        if (accuracies[t]["eval_set"] == "test_pgd").any():
            parts += [
                "<h4>Robust accuracy under PGD (seed 002)</h4>",
                table_html(
                    method_summary(accuracies[t], eval_set="test_pgd").select(
                        "run",
                        "seeds",
                        (pl.col("accuracy") * 100).alias("robust accuracy %"),
                        (pl.col("low") * 100).alias("95% low"),
                        (pl.col("high") * 100).alias("95% high"),
                    ),
                    floats="{:.2f}",
                ),
            ]
        return "".join(parts)

    return _per_trainset(TRAINING_INTRO, {t: f for t, f in trainsets.items() if f.training is not None}, render)


# --- privacy and robustness (seed 003 §4.4-4.5) ---


def lira_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> str:
    intro = (
        "Seed 003 §4.5 and App. G.4: does a classifier reveal which real images it trained on? The Likelihood "
        "Ratio Attack (LiRA, Carlini et al. 2022) against each attacked study run: the run's recipe trains one "
        "model per random half of the <b>train split</b> (the pool; every image is in exactly half of the "
        "models), and for its synthetic data a generator is trained on that half only. Each model in turn is the "
        "target and the others are its shadows: the target's logit-scaled confidence on every pool image is "
        "compared with the shadows' that did (IN) and did not (OUT) train on it, per image (<b>online</b>: both "
        "Gaussians; <b>offline</b>: OUT only, one-sided). With fewer than 6 models every image has a single IN or "
        "OUT shadow, so only the fixed-variance attacks (one variance for all images) are computed. Members: the "
        "target's half; non-members: the rest of the pool; the scores of all targets are pooled into one ROC. "
        "Chose: nothing. Scored: the pool; the test split only gives each model's accuracy beside its leakage. "
        "TPR at a low FPR is the attack's success where it matters (a TPR equal to the FPR is chance); with N "
        "non-member queries, TPR at FPR below 1/N cannot be read, and no interval is given."
    )

    def render(t: str, f: TrainsetFiles) -> str:
        files = f.lira
        if missing_files(files.attacks, files.roc):
            return missing_html(f"membership inference on {t}", [files.attacks, files.roc])
        attacks = read_frame(files.attacks)
        table = attacks.select(
            "run",
            "attack",
            "targets",
            "members",
            "non_members",
            (pl.col("auc")).alias("AUC"),
            (pl.col("tpr_at_0.1pct_fpr") * 100).alias("TPR % at 0.1% FPR"),
            (pl.col("tpr_at_1pct_fpr") * 100).alias("TPR % at 1% FPR"),
            (pl.col("test_accuracy") * 100).alias("target test accuracy %"),
        )
        plot = figure(
            "lira",
            files.plot,
            [files.attacks, files.roc],
            trainset=t,
            alt=f"membership inference, {t}",
            what="the ROC figure",
        )
        return table_html(table, floats="{:.3f}") + plot

    return _per_trainset(intro, {t: f for t, f in trainsets.items() if f.lira is not None}, render)


def robustness_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> str:
    intro = (
        "Seed 003 §4.4 and App. G.3: does training on synthetic data change accuracy out of distribution? Every "
        "study run's seeds scored on corrupted copies of the <b>test split</b> in the style of CIFAR-10-C "
        "(Hendrycks and Dietterich 2019; severities 1-5, noise drawn from the config's seed) and on any real shifted "
        "test set the config names. <b>mean corruption</b> is the mean over the corruptions per seed and severity. "
        "Accuracy, its drop from the same seed's clean accuracy, and the excess drop (that drop minus real-only "
        "training's, paired by seed: one seed's runs start from the same weights) are means over training seeds "
        "with 95% Student-t intervals (resampling unit: seeds). Chose: nothing. Scored: the test split and its "
        "shifted copies."
    )

    def render(t: str, f: TrainsetFiles) -> str:
        files = f.robustness
        if missing_files(files.accuracy):
            return missing_html(f"robustness of {t}", [files.accuracy])
        summary = read_frame(files.accuracy)
        strongest = strongest_shift(summary).select(
            "run",
            "shift",
            "severity",
            "seeds",
            "images",
            (pl.col("accuracy") * 100).alias("accuracy %"),
            (pl.col("low") * 100).alias("low"),
            (pl.col("high") * 100).alias("high"),
            (pl.col("drop") * 100).alias("drop (points)"),
            (pl.col("drop_low") * 100).alias("drop low"),
            (pl.col("drop_high") * 100).alias("drop high"),
            (pl.col("excess_drop") * 100).alias("excess drop (points)"),
            (pl.col("excess_low") * 100).alias("excess low"),
            (pl.col("excess_high") * 100).alias("excess high"),
        )
        plot = figure(
            "robustness",
            files.plot,
            [files.accuracy],
            trainset=t,
            alt=f"accuracy under shift, {t}",
            what="the robustness figure",
        )
        return "<h4>The strongest shift per run</h4>" + table_html(strongest, floats="{:.2f}") + plot

    return _per_trainset(intro, {t: f for t, f in trainsets.items() if f.robustness is not None}, render)
