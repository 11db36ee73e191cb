"""Assemble the report from the workflow's tables and figures (it never re-runs a network).

Every section reads only the files it needs and, where the run has not made them yet, says which are
missing instead of failing: the same code renders the complete report (rule ``render_report``) and the
report of a partial or failed run (rule ``partial_report``, and the workflow's error hook).
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from synthval.evaluation.study import method_summary, scaling_table
from synthval.io import read_json, read_metadata
from synthval.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from synthval.report import leaves
from synthval.report.figures import (
    calibration_sweep,
    content_gap_histograms,
    draw_generator_history,
    protocol_bars,
    quality_curves,
    scaling_curve,
)
from synthval.report.html import Report, image_tag, missing_html, run_metadata, table_html
from synthval.selection.ranking import ALL, FIT_MEMBERS, TRAIN_MEMBERS, last_epoch, pooled_note, with_members
from synthval.zoo import member_spec, parse_model

Files = dict[str, Any]


def _absent(*paths: str | Path) -> list[str]:
    return [str(p) for p in paths if not Path(p).is_file()]


class _Figures:
    """Inline a figure the workflow made; when a partial run has not made it yet but its sources are
    there, draw it here; otherwise say what is missing."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.count = 0

    def __call__(
        self, path: str | Path, alt: str, draw: Callable[[Path], None], sources: Iterable[str | Path], what: str
    ) -> str:
        if Path(path).is_file():
            return image_tag(path, alt)
        absent = _absent(*sources)
        if absent:
            return missing_html(what, absent)
        self.count += 1
        tmp = self.folder / f"figure-{self.count}.png"
        draw(tmp)
        return image_tag(tmp, alt)


def build_report(out: str | Path, *, title: str, config: dict, files: Files, partial: bool = False) -> None:
    """Render ``files`` (the nested dict of ``report_files`` in the workflow: per training set its
    summary, reference history, generators' weights, manifests, figures and quality tables, zoo
    histories, errors, ranks, selection tables and figures; plus the benchmarks folder) to ``out``.
    ``partial``: some of the files may not exist yet; the report says which.
    """
    expected = leaves(files["trainsets"])
    absent = _absent(*expected)
    if absent and not partial:
        raise FileNotFoundError(f"{len(absent)} report inputs are missing, e.g. {absent[:3]}")
    report = Report(title)
    if absent:
        report.status = (
            f'<div class="status partial"><b>Partial report</b>: {len(expected) - len(absent)} of {len(expected)} '
            "result files "
            "exist; each section says what it is missing. Run <code>snakemake</code> (or <code>snakemake --profile "
            "slurm</code>) "
            "to finish the run; the complete report is <code>results/report/report.html</code>.</div>"
        )
    else:
        report.status = (
            f'<div class="status ok">Complete: all {len(expected)} result files of this configuration are in.</div>'
        )
    trainsets: dict[str, Files] = files["trainsets"]
    with tempfile.TemporaryDirectory() as tmp:
        figure = _Figures(tmp)
        report.add("run", "Run", _run_section(config, files.get("benchmarks")))
        summaries = {t: read_json(f["summary"]) for t, f in trainsets.items() if not _absent(f["summary"])}
        report.add("data", "Data and splits", _data_section(summaries, trainsets))
        report.add("generators", "Generators", _generator_section(trainsets, figure))
        ranks = {t: pl.read_parquet(f["rank"]) for t, f in trainsets.items() if not _absent(f["rank"])}
        accuracies = {
            t: pl.read_parquet(f["training"]["accuracy"])
            for t, f in trainsets.items()
            if "training" in f and not _absent(f["training"]["accuracy"])
        }
        studies = {t: method_summary(accuracy) for t, accuracy in accuracies.items()}
        report.add("quality", "Synthetic-data quality", _quality_section(trainsets, ranks, figure, studies))
        errors = {t: pl.read_parquet(f["errors"]) for t, f in trainsets.items() if not _absent(f["errors"])}
        report.add("zoo", "Classifier zoo", _zoo_section(config, trainsets, errors))
        sizes = {t: s["splits"]["train"]["count"] for t, s in summaries.items()}
        report.add("rank", "Rank preservation", _rank_section(trainsets, ranks) + _rank_by_size(ranks, sizes))
        tables = {
            t: {k: pl.read_parquet(f[k]) for k in ("protocols", "calibration", "corollary") if not _absent(f[k])}
            for t, f in trainsets.items()
        }
        report.add("protocols", "Selection protocols", _protocol_section(trainsets, tables, figure))
        report.add("calibration", "Calibration", _calibration_section(trainsets, tables, figure))
        report.add("corollary", "Corollary 3.3", _corollary_section(trainsets, tables, figure))
        if any("training" in f for f in trainsets.values()):
            report.add(
                "training", "Training with synthetic data", _training_section(trainsets, accuracies, studies, figure)
            )
        report.add(
            "findings", "Findings", _findings(errors, ranks, tables, complete=not absent) + _training_findings(studies)
        )
        report.write(out)


# --- run ---


def stage_times(benchmarks: str | Path) -> pl.DataFrame:
    """Wall time per rule from Snakemake's ``benchmark:`` files (results/benchmarks/<rule>/...tsv): jobs,
    summed and longest wall-clock seconds, CPU seconds and peak resident memory."""
    rows = []
    for tsv in sorted(Path(benchmarks).rglob("*.tsv")):
        rule = tsv.relative_to(benchmarks).parts[0]
        bench = pl.read_csv(tsv, separator="\t", null_values=["NA", "-"], infer_schema_length=None)
        for rec in bench.iter_rows(named=True):
            rows.append(
                {
                    "rule": rule,
                    "s": float(rec["s"]),
                    "cpu_time": float(rec.get("cpu_time") or 0.0),
                    "max_rss": float(rec.get("max_rss") or 0.0),
                }
            )
    if not rows:
        return pl.DataFrame(
            schema={
                "stage": pl.String,
                "jobs": pl.Int64,
                "wall s (sum)": pl.Float64,
                "wall s (longest job)": pl.Float64,
                "CPU s (sum)": pl.Float64,
                "peak RSS (MB)": pl.Float64,
            }
        )
    return (
        pl.DataFrame(rows)
        .group_by("rule")
        .agg(
            pl.len().cast(pl.Int64).alias("jobs"),
            pl.col("s").sum().alias("wall s (sum)"),
            pl.col("s").max().alias("wall s (longest job)"),
            pl.col("cpu_time").sum().alias("CPU s (sum)"),
            pl.col("max_rss").max().alias("peak RSS (MB)"),
        )
        .rename({"rule": "stage"})
        .sort("wall s (sum)", descending=True)
    )


def _run_section(config: dict, benchmarks: str | Path | None) -> str:
    meta = run_metadata()
    parts = [table_html(pl.DataFrame({"item": list(meta), "value": list(meta.values())}))]
    times = stage_times(benchmarks) if benchmarks and Path(benchmarks).is_dir() else None
    if times is not None and times.height:
        parts.append(
            "<h3>Time per stage</h3><p>From each rule's <code>benchmark:</code> file (jobs that ran in parallel "
            "overlap, so the sums "
            "exceed the elapsed time; the longest job bounds a stage from below). The benchmarks of the latest run of "
            "each job: a job "
            "that did not rerun keeps its earlier figures.</p>" + table_html(times, floats="{:.1f}")
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
        "augmented copies "
        "of it are the augmented baseline's evaluation set",
    ),
    ("fit", "a sub-split of train: the standard protocol's and calibration's models train on it"),
    ("val", "train minus fit: the standard protocol's validation set and calibration's real errors"),
    (
        "test",
        "the rest of the pool: only the test errors (rank correlations, the score of every selection protocol); never "
        "generator "
        "training, selection or calibration",
    ),
]


def _data_section(summaries: dict[str, dict], trainsets: dict[str, Files]) -> str:
    absent = [f["summary"] for t, f in trainsets.items() if t not in summaries]
    if not summaries:
        return missing_html("the data splits", absent)
    rows, balance = [], []
    for trainset, summary in summaries.items():
        for split, info in summary["splits"].items():
            counts = info["per_class"]
            rows.append(
                {
                    "training set": trainset,
                    "split": split,
                    "images": info["count"],
                    "smallest class": min(counts),
                    "largest class": max(counts),
                    "imbalance (largest / smallest)": max(counts) / max(min(counts), 1),
                }
            )
            balance.append(
                {
                    "training set": trainset,
                    "split": split,
                    **{name: n for name, n in zip(summary["class_names"], counts, strict=True)},
                }
            )
    summary = next(iter(summaries.values()))  # the pool is the same for every training set
    uses = pl.DataFrame({"split": [s for s, _ in _SPLIT_USE], "used for": [u for _, u in _SPLIT_USE]})
    return (
        f"<p>Source <b>{html.escape(summary['source'])}</b>: {summary['pool']} images of shape "
        f"{tuple(summary['image_shape'])}, "
        f"{len(summary['class_names'])} classes. Each training set is a seeded draw from the pool; its <b>test</b> "
        "split is the rest of the "
        "pool. <b>fit</b>/<b>val</b> is the standard protocol's sub-split of the training set (seed 000 App. C).</p>"
        + table_html(pl.DataFrame(rows), floats="{:.2f}")
        + "<h3>Which split each number uses</h3>"
        + table_html(uses)
        + f"<details><summary>class balance (images per class)</summary>{table_html(pl.DataFrame(balance))}</details>"
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
        f"family <b>{html.escape(family)}</b>, conditioning <b>{html.escape(record.get('conditioning', 'class'))}</b> "
        f"({html.escape(params)}); "
        f"trained on <code>{html.escape(record['train_split'])}</code> only. Kept checkpoint: {steps}, by "
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


def _generator_section(trainsets: dict[str, Files], figure: _Figures) -> str:
    parts = []
    for trainset, f in trainsets.items():
        if _absent(f["reference"]):
            parts.append(missing_html(f"the reference classifier of {trainset}", [f["reference"]]))
        else:
            last = pl.read_parquet(f["reference"]).sort("epoch").tail(1).row(0, named=True)
            parts.append(
                f"<p>Reference classifier <b>{html.escape(last['model'])}</b> on <b>{html.escape(trainset)}</b>, "
                "trained on its train split "
                f"only (it scores generator checkpoints and labels unconditional samples): {last['epoch']} epochs, "
                "final training "
                f"accuracy {last['train_accuracy']:.3f}.</p>"
            )
        for name, g in f["generators"].items():
            parts.append(f"<h3>{html.escape(name)} on {html.escape(trainset)}</h3>")
            if _absent(g["weights"]):
                parts.append(missing_html(f"generator {name}", [g["weights"]], "It has not finished training."))
                continue
            text = _describe_record(read_metadata(g["weights"]))
            manifest = None if _absent(g["manifest"]) else read_json(g["manifest"])
            if manifest:
                text += f" Synthetic set: {manifest['count']} images in {len(manifest['shards'])} shards."
            history = figure(
                g["history_plot"],
                f"training history of {name}",
                lambda p, g=g, n=name, t=trainset: draw_generator_history(g["weights"], p, f"{n} on {t}"),
                [g["weights"]],
                f"the training history of {name}",
            )
            grid = (
                image_tag(g["grid"], f"samples of {name}")
                if not _absent(g["grid"])
                else missing_html(f"samples of {name}", [g["grid"]], "Its synthetic set is not written yet.")
            )
            parts.append(
                f"<p>{text}</p><figure>{history}<figcaption>training history; circled: the kept "
                "checkpoint</figcaption></figure>"
                f"<figure>{grid}<figcaption>samples, one row per class</figcaption></figure>"
                + (_pseudo_label_table(manifest["pseudo_labels"]) if manifest and "pseudo_labels" in manifest else "")
            )
    return "".join(parts)


# --- quality ---

_METRIC_NAMES = {
    "fid": "FID",
    "kid": "KID",
    "precision": "precision",
    "recall": "recall",
    "density": "density",
    "coverage": "coverage",
    "prd_f8": "PRD F8",
    "prd_f1_8": "PRD F1/8",
    "tv": "TV",
    "tv_floor": "TV floor",
    "arc": "ARC",
    "mmd": "MMD",
}


def _quality_section(
    trainsets: dict[str, Files], ranks: dict[str, pl.DataFrame], figure: _Figures, studies: dict[str, pl.DataFrame]
) -> str:
    order = [m for m in _METRIC_NAMES if m in (*LOWER_IS_BETTER, *HIGHER_IS_BETTER, "tv_floor")]
    parts = [
        "<p>Every synthetic set against the real <b>train split</b> (never the test split), in the features named "
        "below. Lower is better "
        "for FID, KID, TV, ARC and MMD; higher for precision, recall, density, coverage and the PRD F-scores. TV is "
        "the total variation "
        "read off the PRD curve (seed 000 §4.1); Corollary 3.3 says two models whose synthetic errors differ by more "
        "than TV keep their "
        "order on real data, so a smaller TV should go with a higher Spearman rho (from the rank-preservation "
        "section). CAS, the "
        "Classification Accuracy Score, is the real test accuracy of the study's network trained on 1x synthetic data "
        "only (mean over "
        "seeds; see the training section).</p>"
    ]
    for trainset, f in trainsets.items():
        parts.append(f"<h3>{html.escape(trainset)}</h3>")
        present = {g: q for g, q in f["generators"].items() if not _absent(q["quality"])}
        absent = [q["quality"] for g, q in f["generators"].items() if g not in present]
        if not present:
            parts.append(missing_html(f"quality metrics of {trainset}", absent))
            continue
        table = pl.concat([pl.read_parquet(q["quality"]) for q in present.values()])
        overall = table.filter(pl.col("class") == "all").pivot(on="metric", index="generator", values="value")
        columns = ["generator", *[pl.col(m).alias(_METRIC_NAMES[m]) for m in order if m in overall.columns]]
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
        curves = [q["curves"] for q in f["generators"].values()]
        plot = figure(
            f["quality_plot"],
            f"PRD and ARC curves, {trainset}",
            lambda p, c=curves, t=trainset: quality_curves(
                pl.concat([pl.read_parquet(x) for x in c]), p, title=f"synthetic sets of {t}"
            ),
            curves,
            f"PRD and ARC curves of {trainset}",
        )
        parts.append(
            f"<p>Features of the <b>{html.escape(table['extractor'][0])}</b> extractor.</p>"
            + table_html(shown)
            + plot
            + f"<details><summary>per class</summary>{table_html(per_class)}</details>"
            + (missing_html("the quality metrics of some generators", absent) if absent else "")
        )
    return "".join(parts)


# --- zoo ---


def zoo_table(config: dict, models: Iterable[str]) -> pl.DataFrame:
    """Architecture, hyper-parameters, seed and training settings of zoo members, from the configuration
    exactly as their training jobs received it (``member_spec``)."""
    rows = []
    for name in models:
        member = parse_model(name)
        spec = member_spec(config["zoo"], member, config["seed"])
        hparams = ", ".join(f"{k}={v}" for k, v in sorted(spec["hparams"].items()) if k != "graph_seed")
        train = spec["train"]
        rows.append(
            {
                "model": name,
                "architecture": member.arch,
                "hyper-parameters": hparams or "-",
                "variant": member.variant,
                "seed": member.seed,
                "trained on": member.split,
                "epochs": train["epochs"],
                "optimizer": train["optimizer"],
                "lr": train["lr"],
                "batch": train["batch_size"],
                "weight decay": train["weight_decay"],
                "schedule": train["schedule"],
            }
        )
    return pl.DataFrame(rows)


def _zoo_section(config: dict, trainsets: dict[str, Files], errors: dict[str, pl.DataFrame]) -> str:
    parts = [
        "<p>Top-1 error per evaluation set at each model's last epoch (<b>test</b> = the real test split, "
        "<b>augmented</b> = the "
        "model's own training split augmented, other columns = synthetic sets). Click a column to sort. Architectures "
        "<code>rwnnNN</code> "
        "are random-graph networks, one graph per NN (seed 000 App. C). The table lists the members trained on the "
        "train split; the "
        "members trained on the fit sub-split serve only the standard protocol and calibration.</p>"
    ]
    for trainset, f in trainsets.items():
        parts.append(f"<h3>{html.escape(trainset)}</h3>")
        present = [p for p in f["histories"] if not _absent(p)]
        if not present:
            parts.append(missing_html(f"the zoo of {trainset}", f["histories"], "No classifier has finished training."))
            continue
        hist = last_epoch(pl.concat([pl.read_parquet(p) for p in present])).select(
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
            f"<p>{table.height} of {len(f['histories'])} models trained.</p>"
            + table_html(table)
            + (
                ""
                if trainset in errors
                else missing_html(f"the errors of {trainset}'s models", [f["errors"]], "Predictions are not all in.")
            )
        )
    return "".join(parts)


# --- rank ---

_AUGMENTED = (
    "<b>augmented</b> is the baseline of Li et al. (2020) (seed 000 §2): augmented copies of each model's own "
    "training split "
    "(see <code>augmented_validation</code> in the configuration), no held-out or synthetic images."
)


def _set_name(eval_set: str) -> str:
    """How findings name an evaluation set."""
    if eval_set == "augmented":
        return "the <b>augmented training split</b> (Li et al. 2020)"
    return f"the <b>{html.escape(eval_set)}</b> synthetic set"


def _per_trainset(intro: str, trainsets: dict[str, Files], render: Callable[[str, Files], str]) -> str:
    """An introductory paragraph, then one sub-section per training set."""
    return f"<p>{intro}</p>" + "".join(f"<h3>{html.escape(t)}</h3>{render(t, f)}" for t, f in trainsets.items())


def _rank_section(trainsets: dict[str, Files], ranks: dict[str, pl.DataFrame]) -> str:
    intro = (
        "Spearman's rho and Kendall's tau between the errors on a set (the set that ranks) and the errors on the "
        "<b>test</b> split "
        "(the split that scores), at each model's last epoch (seed 000 §4.1, Fig. 3). <i>train members</i>: the "
        "models trained on the "
        "whole train split, ranked by a synthetic set or the augmented training split. The real baselines: <b>val</b> "
        "over "
        "<i>fit members</i> ranks the models trained on the fit sub-split by their val errors against their own test "
        "errors (Fig. 3 "
        "row 2), and <b>val</b> over <i>configurations</i> ranks each configuration by its fit members' mean val "
        "error against its "
        "train members' mean test error, the architecture-ranking shift the standard protocol lives with (Fig. 3 row "
        "3). Every row is "
        "given pooled (group <b>all</b>) and per group of similar models; a pooled rho can be carried by the gap "
        "between groups while "
        "each group is ranked poorly, so read them together. Intervals: 95%, resampling <b>configurations</b> (all "
        "seeds of a drawn "
        "configuration together; seeds of one configuration are near-duplicates), BCa bootstrap where defined, else "
        "percentile; the "
        f"<i>interval</i> column names the method. {_AUGMENTED}"
    )

    def render(t: str, f: Files) -> str:
        if t not in ranks:
            return missing_html(f"rank correlations of {t}", [f["rank"]])
        scatter = (
            image_tag(f["scatter"], f"synthetic vs test error, {t}")
            if not _absent(f["scatter"])
            else missing_html("the scatter plot", [f["scatter"]])
        )
        notes = [
            f"<li>{html.escape(s)}: {html.escape(n)}.</li>"
            for s in ranks[t]["eval_set"].unique(maintain_order=True)
            if (n := pooled_note(ranks[t], s))
        ]
        shown = ranks[t].select(
            pl.col("eval_set").alias("ranked by"),
            pl.col("ranked").alias("models"),
            "group",
            pl.col("n_models").alias("models (n)"),
            pl.col("n_configs").alias("configurations"),
            pl.col("spearman").alias("Spearman rho"),
            pl.col("spearman_low").alias("95% low"),
            pl.col("spearman_high").alias("95% high"),
            pl.col("kendall").alias("Kendall tau"),
            "interval",
            pl.col("interval_unit").alias("unit"),
        )
        return table_html(shown, floats="{:.3f}") + (f"<ul>{''.join(notes)}</ul>" if notes else "") + scatter

    return _per_trainset(intro, trainsets, render)


def rank_by_size(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> pl.DataFrame:
    """Spearman's rho of every evaluation set on every training set, one row per (set, training-set
    size), smallest training set first: how rank preservation changes with the amount of real data."""
    frames = [
        rank.filter(pl.col("group") == ALL)
        .select("eval_set", "ranked", "n_models", "spearman", "spearman_low", "spearman_high")
        .with_columns(trainset=pl.lit(t), train_images=pl.lit(sizes[t], pl.Int64))
        for t, rank in ranks.items()
        if t in sizes
    ]
    return (
        pl.concat(frames)
        .select(
            "eval_set", "ranked", "trainset", "train_images", "n_models", "spearman", "spearman_low", "spearman_high"
        )
        .sort("eval_set", "ranked", "train_images")
    )


def _rank_by_size(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> str:
    if len(sizes) < 2:
        return (
            "<p>Rank preservation by training-set size needs more than one entry in <code>data.train_sizes</code>; "
            "this run has "
            f"one ({', '.join(f'{html.escape(t)}: {n} images' for t, n in sizes.items())}).</p>"
        )
    if len([t for t in ranks if t in sizes]) < 2:
        return (
            "<p>Rank preservation by training-set size: waiting for the rank correlations of at least two "
            "training sets.</p>"
        )
    return (
        "<h3>By training-set size</h3><p>Spearman rho of each evaluation set on every training set (each with its own "
        "generators, "
        "zoo and test split), smallest first.</p>" + table_html(rank_by_size(ranks, sizes))
    )


# --- selection ---


def _selection_render(
    tables: dict[str, dict[str, pl.DataFrame]],
    figure: _Figures,
    key: str,
    what: str,
    draw: Callable[[pl.DataFrame, Path, str], None] | None = None,
    shown: Callable[[pl.DataFrame], pl.DataFrame] = lambda df: df,
    empty: str = "",
) -> Callable[[str, Files], str]:
    """One training set's part of a selection section: the figure (when ``draw``) and the table, or
    what is missing; ``empty``: the text for a table with no rows."""

    def render(trainset: str, f: Files) -> str:
        if key not in tables[trainset]:
            return missing_html(f"the {what} of {trainset}", [f[key]])
        table = tables[trainset][key]
        if table.height == 0 and empty:
            return empty
        plot = (
            figure(
                f[f"{key}_plot"],
                f"{what}, {trainset}",
                lambda p: draw(table, p, trainset),
                [f[key]],
                f"the {what} figure",
            )
            if draw
            else ""
        )
        return plot + table_html(shown(table))

    return render


def _protocol_section(trainsets: dict[str, Files], tables: dict[str, dict[str, pl.DataFrame]], figure: _Figures) -> str:
    intro = (
        "Seed 000 §4.2. Every protocol chooses by the set in the <i>chosen by</i> column (a synthetic set or "
        "<b>augmented</b>; <b>val</b>: the standard "
        "protocol's real validation split, with the members trained on the fit sub-split; <b>test</b>: the oracle, a "
        "lower bound "
        "no protocol can reach; <b>none</b>: random) and is scored by the <b>test</b> error of what it chose. ES: "
        "best epoch per training "
        "run; RSS: best seed per configuration at the last epoch; ES + RSS: best (seed, epoch) per configuration; the "
        "baseline is the last "
        "epoch of any seed. HPS: random model, the standard protocol, the synthetic protocol (best model and epoch "
        "over the whole zoo on "
        "the selection set) and the oracle; <b>synthetic minus standard</b> is their paired difference in test error "
        "on the same "
        "resamples (negative: the selection set chose better than the 25% hold-out). Rows for the pooled zoo (group "
        "<b>all</b>) and each "
        "group. Intervals resample configurations: BCa bootstrap for the ES/RSS means; the HPS figures are minima "
        "over the pool, which "
        "have no valid bootstrap confidence interval, so their range is labelled as the sensitivity to the "
        "configuration pool. Regret: "
        "test error minus the oracle's. The figure shows the pooled zoo; the oracle is dashed."
    )
    return _per_trainset(
        intro,
        trainsets,
        _selection_render(
            tables,
            figure,
            "protocols",
            "selection protocols",
            lambda df, p, t: protocol_bars(df, p, title=t),
            lambda df: df.select(
                pl.col("eval_set").alias("selection set"),
                "group",
                "protocol",
                pl.col("selection").alias("chosen by"),
                pl.col("test_error").alias("test error"),
                pl.col("low").alias("95% low"),
                pl.col("high").alias("95% high"),
                "regret",
                pl.col("units").alias("runs or configurations"),
                "interval",
                "chosen",
            ),
        ),
    )


def _calibration_section(
    trainsets: dict[str, Files], tables: dict[str, dict[str, pl.DataFrame]], figure: _Figures
) -> str:
    intro = (
        "Seed 000 §4.4, eq. 1: per-class ridge weights over the synthetic images, fitted so that the weighted "
        "synthetic errors of the "
        "calibration models match their real per-class errors. Calibration models are the members trained on the "
        "<b>fit</b> sub-split, "
        "and their real errors come from the <b>val</b> split, never the test split; the calibrated errors of the "
        "members trained on "
        "the whole train split (never used to calibrate) are then ranked against their <b>test</b> errors, pooled and "
        "per group. The "
        "sweep over (calibration models, ridge) is shown as a sweep: rho is the mean over random draws of the "
        "calibration models (min "
        "and max alongside; the band in the figure), against the uncalibrated rho (dashed). The <b>operating "
        "point</b> the findings "
        "quote (starred, <i>chosen</i>) is fixed in the config or chosen by leave-one-model-out on the calibration "
        "models alone "
        "(<i>loo rho</i>, <i>loo MAE</i>: each calibration model's calibrated error, predicted from the others, "
        "against its own val "
        "error); the test split never chooses it. With a single calibration model the centred regression has nothing "
        "to fit and every "
        "model gets the same estimate, so rho is undefined (NaN)."
    )
    empty = (
        "<p>Not computed: calibration needs members trained on the fit sub-split (<code>zoo.train_splits: "
        "[train, fit]</code>).</p>"
    )

    def shown(df: pl.DataFrame) -> pl.DataFrame:
        return df.select(
            "generator",
            "group",
            pl.col("calibration_models").alias("calibration models"),
            "ridge",
            "draws",
            pl.col("spearman").alias("rho vs test"),
            pl.col("spearman_min").alias("min"),
            pl.col("spearman_max").alias("max"),
            pl.col("uncalibrated_spearman").alias("uncalibrated rho"),
            pl.col("loo_spearman").alias("loo rho"),
            pl.col("loo_mae").alias("loo MAE"),
            "chosen",
            pl.col("evaluation_models").alias("ranked models"),
        )

    return _per_trainset(
        intro,
        trainsets,
        _selection_render(
            tables,
            figure,
            "calibration",
            "calibration sweep",
            lambda df, p, t: calibration_sweep(df, p, title=t),
            shown,
            empty,
        ),
    )


def _corollary_section(
    trainsets: dict[str, Files], tables: dict[str, dict[str, pl.DataFrame]], figure: _Figures
) -> str:
    intro = (
        "Seed 000 Corollary 3.3: a pair of models whose synthetic errors differ by more than the total variation TV "
        "between the real "
        "and synthetic distributions keeps its order on the test split. TV is estimated from PRD (the quality "
        "section) as "
        "1 - sum min(P, Q), the half-L1 convention; each error can move by up to TV between the domains, so under it "
        "the gap that "
        "guarantees the order is 2 TV, and both thresholds are counted. Over all pairs of models trained on the train "
        "split, at their "
        "last epoch: the share of pairs above each threshold whose test order agrees (the corollary predicts 1) and "
        "the same share "
        "among the pairs below TV. <i>TV floor</i>: the same estimator between two disjoint halves of the real train "
        "split at the "
        "synthetic set's sample size (or half the train split, if smaller): a TV near its floor is at the estimator's "
        "resolution."
    )

    def shown(df: pl.DataFrame) -> pl.DataFrame:
        names = {
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
        return df.rename({k: v for k, v in names.items() if k in df.columns})

    return _per_trainset(
        intro, trainsets, _selection_render(tables, figure, "corollary", "Corollary 3.3 check", shown=shown)
    )


# --- training with synthetic data ---


def cas_table(summary: pl.DataFrame) -> pl.DataFrame:
    """The Classification Accuracy Score per generator: test accuracy of 1x synthetic-only training."""
    scaling = scaling_table(summary)
    if scaling.is_empty():
        return pl.DataFrame(schema={"generator": pl.String, "CAS": pl.Float64})
    return scaling.filter(pl.col("scale") == 1).select("generator", CAS=pl.col("accuracy"))


def _cell(mean: float, low: float, high: float) -> str:
    interval = f" [{low * 100:.1f}, {high * 100:.1f}]" if low == low else ""
    return f"{mean * 100:.2f}{interval}"


def study_table(summary: pl.DataFrame) -> pl.DataFrame:
    """Seed 001 Table 4's layout: one row per method, one column per generator, cells "mean [95% t
    interval]" of test accuracy in %; real-only training (no generator) is repeated in every column."""
    generators = sorted(g for g in summary["generator"].unique().to_list() if g is not None)
    order = {"real": 0, "synthetic": 1, "synthetic>real": 2, "real+synthetic": 3}
    rows = []
    for method in summary["method"].unique(maintain_order=True):
        runs = summary.filter(pl.col("method") == method)
        data = runs["data"][0]
        row = {"method": method, "data": data}
        for g in generators:
            hit = runs if data == "real" else runs.filter(pl.col("generator") == g)
            row[g] = _cell(hit["accuracy"][0], hit["low"][0], hit["high"][0]) if hit.height else "-"
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows).sort(pl.col("data").replace_strict(order, default=9, return_dtype=pl.Int64), "method")


def _training_section(
    trainsets: dict[str, Files], accuracies: dict[str, pl.DataFrame], studies: dict[str, pl.DataFrame], figure: _Figures
) -> str:
    intro = (
        "Seeds 001-003: the same network trained on the real train split (<b>real</b>), on synthetic data only "
        "(<b>synthetic</b>; at 1x "
        "its accuracy is the CAS), on both in every batch (<b>real+synthetic</b>, a synthetic-to-real ratio per "
        "batch: seed 001's "
        "augmentation baseline), or first on synthetic then on real data (<b>synthetic&gt;real</b>, the two-stage "
        "baseline), with "
        "Pretrained Guidance (a frozen guide's pairwise feature distances, eq. 1) or Real Guidance (the synthetic "
        "gradient projected to "
        "at most perpendicular to the real one, eq. 2) where named. An epoch is one pass over the real split (over "
        "the synthetic set "
        "when there is no real data), so a real+synthetic run at ratio r takes (1 + r) times the optimiser steps of "
        "real-only training "
        "and a synthetic run at N x takes N times as many; a real method with more epochs is the compute-matched "
        "control. "
        "Every number is accuracy on the real <b>test</b> split, read only after "
        "training; cells are the mean over seeds with a 95% Student-t interval. The gain over real-only training is "
        "paired by seed. "
        "The generators are the ones trained on the train split above; their training images are drawn apart from the "
        "synthetic "
        "validation sets."
    )

    def render(t: str, f: Files) -> str:
        files = f["training"]
        if t not in studies:
            return missing_html(f"the training study of {t}", [files["accuracy"]], "Its runs have not all finished.")
        summary = studies[t]
        gains = summary.filter(pl.col("method") != "real").select(
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
        scaling = figure(
            files["scaling_plot"],
            f"scaling, {t}",
            lambda p: scaling_curve(summary, p, title=f"scaling on {t}"),
            [files["accuracy"]],
            "the scaling figure",
        )
        gap_plot = figure(
            files["content_gap_plot"],
            f"content gap, {t}",
            lambda p: content_gap_histograms(pl.read_parquet(files["content_gap"]), p, title=f"content gap on {t}"),
            [files["content_gap"]],
            "the content-gap figure",
        )
        parts = [
            "<h4>Test accuracy (%) by method and generator (seed 001 Table 4)</h4>",
            table_html(study_table(summary)),
            "<h4>Every run against real-only training</h4><p>Accuracy in %, its 95% interval over seeds (low, high), "
            "and the "
            "gain over real-only training in points with its interval.</p>",
            table_html(gains, floats="{:.2f}"),
            "<h4>Scaling the synthetic set (seed 003)</h4>",
            scaling,
            "<h4>Content gap (seed 001 Observation 3)</h4>",
            gap_plot,
        ]
        if not _absent(files["content_gap"]):
            gap = pl.read_parquet(files["content_gap"])
            if gap.height:
                parts.append(
                    table_html(
                        gap.group_by("direction", "generator")
                        .agg(
                            samples=pl.len(),
                            median_loss=pl.col("loss").median(),
                            mean_loss=pl.col("loss").mean(),
                            **{"share below 0.01": (pl.col("loss") < 0.01).mean()},
                        )
                        .sort("generator", "direction"),
                        floats="{:.3f}",
                    )
                )
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

    return _per_trainset(intro, {t: f for t, f in trainsets.items() if "training" in f}, render)


def _training_findings(studies: dict[str, pl.DataFrame]) -> str:
    items = []
    for trainset, summary in studies.items():
        real = summary.filter(pl.col("method") == "real")
        if real.is_empty():
            continue
        base = real.row(0, named=True)
        items.append(
            f"<li>On <b>{html.escape(trainset)}</b>, real-only training reaches "
            f"{_cell(base['accuracy'], base['low'], base['high'])}% "
            f"test accuracy over {base['seeds']} seeds.</li>"
        )
        for row in summary.filter(pl.col("method") != "real").sort("gain", descending=True).iter_rows(named=True):
            low, high = row["gain_low"], row["gain_high"]
            verdict = (
                ("helps" if low > 0 else "hurts" if high < 0 else "has no clear effect")
                if low == low
                else "(one seed: no interval)"
            )
            items.append(
                f"<li>{html.escape(row['run'])}: {verdict}, {row['gain'] * 100:+.2f} points [{low * 100:+.2f}, "
                f"{high * 100:+.2f}] "
                f"over real-only training ({row['accuracy'] * 100:.2f}%).</li>"
            )
    return f"<h3>Training with synthetic data</h3><ul>{''.join(items)}</ul>" if items else ""


# --- findings ---

#: A ranking is called strong when its whole interval is at or above this Spearman rho.
STRONG_RHO = 0.7


def _strength(row: dict) -> str:
    """The wording of a rank correlation follows its interval, not its point estimate."""
    rho, low, high = row["spearman"], row["spearman_low"], row["spearman_high"]
    if rho != rho:
        return "undefined rank preservation (too few models, or constant errors)"
    if low != low:
        return "rank preservation without an interval (fewer than 3 configurations)"
    if low >= STRONG_RHO:
        return f"strong rank preservation (the whole interval is at or above {STRONG_RHO})"
    if low > 0:
        return "positive rank preservation (the interval excludes 0)"
    if high < 0:
        return "a reversed ranking (the whole interval is below 0: the set orders models against their test error)"
    return "no clear rank preservation (the interval includes 0)"


def _rho(row: dict) -> str:
    interval = (
        f" [{row['spearman_low']:.3f}, {row['spearman_high']:.3f}]"
        if row["spearman_low"] == row["spearman_low"]
        else ""
    )
    return f"rho = {row['spearman']:.3f}{interval}"


def _group_rho(row: dict) -> str:
    name = html.escape(row["group"])
    if row["spearman"] != row["spearman"]:
        return f"{name} undefined ({row['n_configs']} configuration{'s' if row['n_configs'] != 1 else ''})"
    if row["spearman_low"] != row["spearman_low"]:
        return f"{name} rho = {row['spearman']:.3f} (no interval: {row['n_configs']} configurations)"
    return f"{name} {_rho(row)} over {row['n_configs']} configurations ({_strength(row)})"


def _rank_findings(trainset: str, rank: pl.DataFrame, test_errors: pl.Series | None) -> list[str]:
    items = []
    where = f"On <b>{html.escape(trainset)}</b>, "
    for (eval_set, ranked), rows in rank.group_by("eval_set", "ranked", maintain_order=True):
        pooled = rows.filter(pl.col("group") == ALL).row(0, named=True)
        groups = [r for r in rows.iter_rows(named=True) if r["group"] != ALL]
        per_group = ("; by group: " + ", ".join(_group_rho(r) for r in groups)) if groups else ""
        note = pooled_note(rank, eval_set, ranked)
        note = f". Note: {html.escape(note)}" if note else ""
        unit = f"{pooled['n_models']} models, {pooled['n_configs']} configurations" + (
            f"; 95% {pooled['interval']} over {pooled['interval_unit']}"
            if pooled["spearman_low"] == pooled["spearman_low"]
            else ""
        )
        if ranked == TRAIN_MEMBERS:
            span = (
                f"; test errors span {test_errors.min() * 100:.2f}% to {test_errors.max() * 100:.2f}%"
                if test_errors is not None and test_errors.len()
                else ""
            )
            items.append(
                f"<li>{where}{_set_name(eval_set)} ranks the train members with Spearman {_rho(pooled)} (Kendall tau = "
                f"{pooled['kendall']:.3f}; {unit}): {_strength(pooled)}{span}{per_group}{note}.</li>"
            )
        elif ranked == FIT_MEMBERS:
            items.append(
                f"<li>{where}the real baseline, the <b>val split</b>, ranks the fit members against their test errors "
                "with Spearman "
                f"{_rho(pooled)} ({unit}): {_strength(pooled)}{per_group}{note}.</li>"
            )
        else:
            items.append(
                f"<li>{where}configurations ranked by their fit members' val error against their train members' test "
                "error "
                f"(the architecture shift the standard protocol relies on): Spearman {_rho(pooled)} ({unit}): "
                f"{_strength(pooled)}"
                f"{per_group}{note}.</li>"
            )
    return items


def _protocol_findings(trainset: str, protocols: pl.DataFrame) -> list[str]:
    items = []
    hps = protocols.filter(pl.col("group") == ALL)
    for eval_set in hps["eval_set"].unique(maintain_order=True):
        rows = {r["protocol"]: r for r in hps.filter(pl.col("eval_set") == eval_set).iter_rows(named=True)}
        if not {"synthetic protocol", "standard protocol", "synthetic minus standard"} <= rows.keys():
            continue
        syn, std, diff = rows["synthetic protocol"], rows["standard protocol"], rows["synthetic minus standard"]
        verdict = (
            "chooses better than"
            if diff["high"] < 0
            else "chooses worse than"
            if diff["low"] > 0
            else "is not clearly different from"
        )
        oracle = f"; the oracle reaches {rows['oracle']['test_error'] * 100:.2f}%" if "oracle" in rows else ""
        groups = protocols.filter(
            pl.col("group") != ALL, pl.col("eval_set") == eval_set, pl.col("protocol") == "synthetic minus standard"
        )
        per_group = (
            (
                "; within groups: "
                + ", ".join(
                    f"{html.escape(r['group'])} {r['test_error'] * 100:+.2f} [{r['low'] * 100:+.2f}, "
                    f"{r['high'] * 100:+.2f}]"
                    for r in groups.iter_rows(named=True)
                )
            )
            if groups.height
            else ""
        )
        items.append(
            f"<li>On <b>{html.escape(trainset)}</b>, choosing with {_set_name(eval_set)} (HPS pick "
            f"{html.escape(syn['chosen'])}, test "
            f"error {syn['test_error'] * 100:.2f}%) {verdict} the standard protocol ({std['test_error'] * 100:.2f}%, "
            "configuration "
            f"{html.escape(std['chosen'])} chosen on val){oracle}: set minus standard {diff['test_error'] * 100:+.2f} "
            "points "
            f"[{diff['low'] * 100:+.2f}, {diff['high'] * 100:+.2f}] (range over configuration resamples, a "
            "sensitivity, not a "
            f"confidence interval){per_group}. The sets chose; the test split only scored.</li>"
        )
    return items


def _calibration_findings(trainset: str, cal: pl.DataFrame) -> list[str]:
    items = []
    for point in cal.filter(pl.col("chosen"), pl.col("group") == ALL).iter_rows(named=True):
        before, after = point["uncalibrated_spearman"], point["spearman"]
        if after != after:  # one calibration model: every model gets the same estimate
            change, calibrated = "leaves undefined", "undefined calibrated (every model gets the same estimate)"
        else:
            change = "raises" if after > before else "lowers" if after < before else "does not change"
            calibrated = f"{after:.3f} calibrated over {point['evaluation_models']} models"
        groups = cal.filter(pl.col("chosen"), pl.col("group") != ALL, pl.col("generator") == point["generator"])
        per_group = (
            (
                "; by group: "
                + ", ".join(
                    f"{html.escape(r['group'])} {r['uncalibrated_spearman']:.3f} -> {r['spearman']:.3f}"
                    for r in groups.iter_rows(named=True)
                )
            )
            if groups.height
            else ""
        )
        best_loo = cal.filter(pl.col("generator") == point["generator"])["loo_spearman"].fill_nan(None).max()
        caveat = (
            f" No point of the sweep ranks held-out calibration models (best leave-one-out rho {best_loo:.3f}), so "
            "the calibration "
            "data do not support calibrating this set."
            if best_loo is not None and best_loo <= 0
            else ""
        )
        items.append(
            f"<li>Calibrating <b>{html.escape(point['generator'])}</b> on {html.escape(trainset)} at its operating "
            "point "
            f"({point['calibration_models']} calibration models, lambda {point['ridge']:g}; chosen by "
            f"{html.escape(point['chosen_by'])}) "
            f"{change} rho against test error: {before:.3f} uncalibrated, {calibrated}{per_group}.{caveat}</li>"
        )
    return items


def _corollary_findings(trainset: str, cor: pl.DataFrame) -> list[str]:
    items = []
    for row in cor.iter_rows(named=True):
        if not row["pairs_above_tv"]:
            items.append(
                f"<li>Corollary 3.3 on {html.escape(trainset)}, <b>{html.escape(row['generator'])}</b> (TV "
                f"{row['tv']:.3f}): no pair "
                f"of models is further apart than TV on the synthetic set, so the corollary guarantees no order; "
                f"{row['preserved_below_tv'] * 100:.1f}% of the {row['pairs_below_tv']} pairs keep their order on "
                "test anyway.</li>"
            )
            continue
        floor = (
            f", estimator floor {row['tv_floor']:.3f}"
            if row.get("tv_floor") == row.get("tv_floor") and "tv_floor" in row
            else ""
        )
        twice = (
            f"; {row['preserved_above_2tv'] * 100:.1f}% of the {row['pairs_above_2tv']} pairs above 2 TV"
            if row.get("pairs_above_2tv")
            else "; no pair is above 2 TV"
        )
        items.append(
            f"<li>Corollary 3.3 on {html.escape(trainset)}, <b>{html.escape(row['generator'])}</b> (TV "
            f"{row['tv']:.3f}{floor}): "
            f"{row['preserved_above_tv'] * 100:.1f}% of the {row['pairs_above_tv']} pairs above TV keep their order on "
            f"test{twice} (predicted: 100%).</li>"
        )
    return items


def _findings(
    errors: dict[str, pl.DataFrame],
    ranks: dict[str, pl.DataFrame],
    tables: dict[str, dict[str, pl.DataFrame]],
    complete: bool,
) -> str:
    items = []
    for trainset, rank in ranks.items():
        test = None
        if trainset in errors:
            test = with_members(last_epoch(errors[trainset])).filter(
                pl.col("eval_set") == "test", pl.col("split") == "train"
            )["error"]
        items += _rank_findings(trainset, rank, test)
    for trainset, t in tables.items():
        if "protocols" in t:
            items += _protocol_findings(trainset, t["protocols"])
        if (cal := t.get("calibration")) is not None and cal.height:
            items += _calibration_findings(trainset, cal)
        if (cor := t.get("corollary")) is not None:
            items += _corollary_findings(trainset, cor)
    if not items:
        return missing_html(
            "findings", [], "They follow from the rank and selection tables, which are not written yet."
        )
    caveat = "" if complete else '<p class="note">From a partial run: these findings cover only what has finished.</p>'
    return f"{caveat}<ul>{''.join(items)}</ul>"
