"""The report's sections. Each is a template (``templates/<section>.html.j2``) that holds its prose (which
split chose, which scored, the interval's unit and method) and one function here that gathers what it shows
from the tables :mod:`synthval.report.build` has read and the files it was to read, noting what a partial
run has not made yet. Figures carry the captions Snakemake's report gives the same files
(``templates/captions/*.rst``), so the two reports say the same thing once.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import polars as pl
import yaml
from markupsafe import Markup

from synthval.data.splits import split_tables
from synthval.evaluation.robustness import strongest_shift
from synthval.evaluation.study import cas_table, content_gap_summary, method_summary, study_table
from synthval.inference import MIN_CONFIGURATIONS
from synthval.io import read_frame, read_json, read_metadata
from synthval.live import read_live_log
from synthval.metrics import BY_NAME, METRICS, TV, TV_FLOOR, directions_sentence
from synthval.metrics.copies import NEAR_COPY_QUANTILE, copy_summary
from synthval.papers import PAPERS
from synthval.plan.paths import data_manifest
from synthval.plan.report import GeneratorFiles, PrivacyFiles, RobustnessFiles, TrainingFiles, TrainsetFiles
from synthval.report.figures import Figures
from synthval.report.html import HEADERS, missing_html, picture, run_metadata, table_html
from synthval.runtime import stage_times
from synthval.selection.ranking import ALL, POOLED, TRAIN_MEMBERS, last_epoch, pooled_note, rank_by_size
from synthval.selection.worth import worth_cell
from synthval.zoo import zoo_table

#: The sections' templates and the figures' captions (package data).
TEMPLATES = Path(__file__).with_name("templates")
CAPTIONS = TEMPLATES / "captions"


def caption(name: str, **wildcards: str) -> Markup:
    """The caption ``captions/<name>.rst`` as HTML, for the report's figure of the job with ``wildcards``:
    the same file Snakemake's report renders (with ``snakemake.wildcards``), its inline markup (``**bold**``,
    double-backquoted literals) made tags."""
    source = (CAPTIONS / f"{name}.rst").read_text()
    text = jinja2.Template(source, undefined=jinja2.StrictUndefined).render(
        snakemake=SimpleNamespace(wildcards=SimpleNamespace(**wildcards))
    )
    text = html.escape(" ".join(text.split()), quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return Markup(re.sub(r"``(.+?)``", r"<code>\1</code>", text))


def _markup(function):
    """``function``, whose string result is HTML, as a template calls it."""
    return lambda *args, **kwargs: Markup(function(*args, **kwargs))


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(
    table=_markup(table_html),
    missing=_markup(missing_html),
    caption=caption,
    frame=pl.DataFrame,
    papers=PAPERS,
)


def render(section: str, **context: Any) -> Markup:
    """The section's template filled with ``context``."""
    return Markup(_ENV.get_template(f"{section}.html.j2").render(**context))


def shown(table: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """The ``columns`` of a table (and only those it has) under their names in the report."""
    return table.select(pl.col(name).alias(label) for name, label in columns.items() if name in table.columns)


def missing_files(*paths: str | Path) -> list[str]:
    """The paths that are not files (yet)."""
    return [str(p) for p in paths if not Path(p).is_file()]


def run_section(config: dict, benchmarks: str | Path | None) -> Markup:
    meta = run_metadata()
    times = stage_times(benchmarks) if benchmarks and Path(benchmarks).is_dir() else None
    return render(
        "run",
        meta=pl.DataFrame({"item": list(meta), "value": list(meta.values())}),
        times=times if times is not None and times.height else None,
        config_yaml=yaml.safe_dump(config, sort_keys=False),
    )


def data_section(summaries: dict[str, dict], trainsets: dict[str, TrainsetFiles]) -> Markup:
    absent = [f.summary for t, f in trainsets.items() if t not in summaries]
    if not summaries:
        return render("data", summary=None, absent=absent)
    rows, balance = split_tables(summaries)
    summary = next(iter(summaries.values()))  # the pool is the same for every training set
    return render(
        "data", summary=summary, shape=tuple(summary["image_shape"]), rows=rows, balance=balance, absent=absent
    )


# --- generators ---


def _trained(name: str, trainset: str, g: GeneratorFiles, figure: Figures) -> dict:
    """A trained generator: its family and settings, the checkpoint kept and why, its figures."""
    if g.weights is None or g.history_plot is None:
        raise ValueError(f"{name} was imported: it has no weights or training history")
    meta = read_metadata(g.weights)
    record, family, hparams = meta["record"], meta["family"], meta["hparams"]
    if family == "per_class":
        family, hparams = hparams["member"], hparams["member_hparams"]
    manifest = None if missing_files(g.manifest) else read_json(g.manifest)
    pseudo = manifest.get("pseudo_labels") if manifest else None
    chosen = record["chosen_step"]
    return {
        "kind": "trained",
        "name": name,
        "family": family,
        "conditioning": record.get("conditioning", "class"),
        "hparams": ", ".join(f"{k}={v}" for k, v in sorted(hparams.items())),
        "train_split": record["train_split"],
        "chosen": chosen,
        "per_class_steps": isinstance(chosen, list),
        "selection": record["selection"],
        "score": record.get("score"),
        "manifest": manifest,
        "history": figure(
            "generator_history",
            g.history_plot,
            [g.weights],
            trainset=trainset,
            generator=name,
            alt=f"training history of {name}",
            what=f"the training history of {name}",
        ),
        "grid": picture(g.grid, f"samples of {name}", f"samples of {name}", "Its synthetic set is not written yet."),
        "pseudo": pseudo,
        "pseudo_rows": pseudo
        and pl.DataFrame(pseudo["per_class"]).rename(
            {
                "predicted": "drawn as class",
                "confident": f"confidence >= {pseudo['confidence']}",
                "kept_fraction": "kept fraction",
            }
        ),
    }


def _in_training(name: str, trainset: str, g: GeneratorFiles, figure: Figures) -> dict:
    """A generator still training: its losses and scores so far, and its latest sample grid."""
    live = None
    if g.live is not None and not missing_files(g.live):
        grids = sorted(Path(g.live_grids).glob("step-*.png")) if g.live_grids and Path(g.live_grids).is_dir() else []
        live = {
            "step": max((r["step"] for r in read_live_log(g.live)), default=0),
            "log": g.live,
            "history": figure(
                "generator_live",
                f"{g.live}.svg",  # never written: always drawn from the log as it is now
                [g.live],
                trainset=trainset,
                generator=name,
                alt=f"training history of {name} so far",
                what=f"the training history of {name} so far",
            ),
            "grid": grids and picture(grids[-1], f"samples of {name} at {grids[-1].stem}"),
            "grid_step": grids and grids[-1].stem.replace("-", " "),
        }
    return {"kind": "training", "name": name, "weights_path": g.weights, "live": live}


def _imported(name: str, g: GeneratorFiles) -> dict:
    """An imported set: where it came from, what the import checked and changed, its samples."""
    info = None if missing_files(g.manifest) else read_json(g.manifest)["imported"]
    counts = info["per_class"] if info else [1]
    return {
        "kind": "imported",
        "name": name,
        "manifest_path": g.manifest,
        "info": info,
        "shape": info and "x".join(map(str, info["source_shape"])),
        "imbalance": max(counts) / min(counts),
        "grid": picture(g.grid, f"samples of {name}", f"samples of {name}", "Its grid is not drawn yet."),
    }


def _generator(name: str, trainset: str, g: GeneratorFiles, figure: Figures) -> dict:
    if g.weights is None:
        return _imported(name, g)
    if missing_files(g.weights):
        return _in_training(name, trainset, g, figure)
    return _trained(name, trainset, g, figure)


def generator_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> Markup:
    parts = {
        t: {
            "reference": None
            if missing_files(f.reference)
            else read_frame(f.reference).sort("epoch").tail(1).row(0, named=True),
            "reference_path": f.reference,
            "generators": [_generator(name, t, g, figure) for name, g in f.generators.items()],
        }
        for t, f in trainsets.items()
    }
    return render("generators", parts=parts)


# --- quality ---


def _quality(t: str, f: TrainsetFiles, rank: pl.DataFrame | None, study: pl.DataFrame | None, figure: Figures):
    present = {g: q for g, q in f.generators.items() if not missing_files(q.quality)}
    absent = [q.quality for g, q in f.generators.items() if g not in present]
    if not present:
        return {"table": None, "absent": absent}
    order = [m.name for m in METRICS if m.headline]
    table = pl.concat([read_frame(q.quality) for q in present.values()])
    overall = table.filter(pl.col("class") == "all").pivot(on="metric", index="generator", values="value")
    columns = ["generator", *[m for m in order if m in overall.columns]]
    if rank is not None:
        rho = rank.filter(
            pl.col("ranked") == TRAIN_MEMBERS, pl.col("group") == ALL, pl.col("question") == "architecture"
        ).select(pl.col("eval_set").alias("generator"), pl.col("spearman").alias("rho over architectures"))
        overall, columns = overall.join(rho, on="generator", how="left"), [*columns, "rho over architectures"]
    if study is not None and (cas := cas_table(study)).height:
        overall, columns = overall.join(cas, on="generator", how="left"), [*columns, "CAS"]
    return {
        "extractor": table["extractor"][0],
        "table": overall.select(
            *columns,
            pl.col("n_real").cast(pl.Int64).alias(BY_NAME["n_real"].display),
            pl.col("n_fake").cast(pl.Int64).alias(BY_NAME["n_fake"].display),
        ),
        "per_class": table.filter(pl.col("class") != "all", pl.col("metric").is_in(order))
        .pivot(on="metric", index=["generator", "class"], values="value")
        .sort("generator", pl.col("class").cast(pl.Int64)),
        "plot": figure(
            "quality",
            f.quality_plot,
            [q.curves for q in f.generators.values()],
            trainset=t,
            alt=f"PRD and ARC curves, {t}",
            what=f"PRD and ARC curves of {t}",
        ),
        "absent": absent,
    }


def quality_section(
    trainsets: dict[str, TrainsetFiles],
    ranks: dict[str, pl.DataFrame],
    figure: Figures,
    studies: dict[str, pl.DataFrame],
) -> Markup:
    parts = {t: _quality(t, f, ranks.get(t), studies.get(t), figure) for t, f in trainsets.items()}
    return render("quality", parts=parts, directions=directions_sentence())


# --- copies ---


def _copies(t: str, f: TrainsetFiles, figure: Figures) -> dict:
    present = {g: path for g, path in f.copies.items() if not missing_files(path)}
    if not present:
        return {"rows": None, "absent": list(f.copies.values())}
    manifests = [data_manifest(t, "train")] + [g.manifest for g in f.generators.values()]
    return {
        "rows": pl.DataFrame([{"generator": g, **copy_summary(read_frame(path))} for g, path in present.items()]),
        "histograms": figure(
            "copies",
            f.copies_plot,
            list(present.values()),
            trainset=t,
            alt=f"copy detection, {t}",
            what="the copy-detection figure",
        ),
        "pairs": figure(
            "copy_pairs",
            f.copy_pairs_plot,
            [*present.values(), *manifests],
            trainset=t,
            alt=f"closest pairs, {t}",
            what="the closest pairs",
        ),
        "absent": [path for g, path in f.copies.items() if g not in present],
    }


def copies_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> Markup:
    parts = {t: _copies(t, f, figure) for t, f in trainsets.items()}
    return render("copies", parts=parts, quantile=NEAR_COPY_QUANTILE)


# --- zoo ---


def _zoo(config: dict, t: str, f: TrainsetFiles, errors: pl.DataFrame | None) -> dict:
    present = [p for p in f.histories if not missing_files(p)]
    part: dict[str, Any] = {"histories": f.histories, "table": None}
    if not present:
        return part
    hist = last_epoch(pl.concat([read_frame(p) for p in present])).select(
        "model", pl.col("train_accuracy").alias("train accuracy"), pl.col("loss").alias("train loss")
    )
    table = zoo_table(config, hist["model"].sort()).join(hist, on="model", how="left")
    if errors is not None:
        wide = last_epoch(errors).pivot(on="eval_set", index="model", values="error")
        sets = ["test", *sorted(c for c in wide.columns if c not in ("model", "test"))]
        table = table.join(wide.select("model", *[pl.col(s).alias(f"{s} error") for s in sets]), on="model", how="left")
    return part | {
        "table": table,
        "percent": [c for c in table.columns if c.endswith(" error") or c == "train accuracy"],
        "errors_in": errors is not None,
        "errors_path": f.errors,
        "class_errors": picture(f.class_errors, f"error per class, {t}"),
    }


def zoo_section(config: dict, trainsets: dict[str, TrainsetFiles], errors: dict[str, pl.DataFrame]) -> Markup:
    return render("zoo", parts={t: _zoo(config, t, f, errors.get(t)) for t, f in trainsets.items()})


# --- rank ---

RANK_COLUMNS = {
    "eval_set": "ranked by",
    "ranked": "models",
    "group": "group",
    "question": "question",
    "statistic": "statistic",
    "n_models": "models (n)",
    "n_units": "units (n)",
    "interval_unit": "unit",
    "spearman": "estimate",
    "spearman_low": "low",
    "spearman_high": "high",
    "kendall": HEADERS["kendall"],
    "p_value": "p (permutation)",
    "interval": "interval",
    "design": "design",
    "design_holds": "design simulated: holds",
    "worth": "worth in real images [95%]",
}


def _rank(t: str, f: TrainsetFiles, rank: pl.DataFrame | None, worth: pl.DataFrame | None, figure: Figures):
    if rank is None:
        return {"table": None, "rank_path": f.rank}
    table = rank
    if worth is not None:
        cells = worth.select(
            "eval_set",
            "group",
            pl.lit(TRAIN_MEMBERS).alias("ranked"),
            pl.lit(POOLED).alias("question"),
            pl.struct("real_images", "real_images_low", "real_images_high")
            .map_elements(lambda w: worth_cell(*w.values()), return_dtype=pl.String)
            .alias("worth"),
        )
        table = table.join(cells, on=["eval_set", "ranked", "group", "question"], how="left", maintain_order="left")
    return {
        "table": shown(table, RANK_COLUMNS),
        "notes": [(s, n) for s in rank["eval_set"].unique(maintain_order=True) if (n := pooled_note(rank, s))],
        "scatter": picture(f.scatter, f"synthetic vs test error, {t}", "the scatter plot"),
        "worth": figure(
            "worth",
            Path(f.worth).with_suffix(".svg"),
            [f.worth, f.worth_curve],
            trainset=t,
            alt=f"real-image curve, {t}",
            what="the real-image curve",
        ),
    }


def rank_section(
    trainsets: dict[str, TrainsetFiles],
    ranks: dict[str, pl.DataFrame],
    worths: dict[str, pl.DataFrame],
    figure: Figures,
) -> Markup:
    parts = {t: _rank(t, f, ranks.get(t), worths.get(t), figure) for t, f in trainsets.items()}
    return render("rank", parts=parts, min_configurations=MIN_CONFIGURATIONS)


def rank_by_size_section(ranks: dict[str, pl.DataFrame], sizes: dict[str, int]) -> Markup:
    ready = len(sizes) >= 2 and len([t for t in ranks if t in sizes]) >= 2
    return render("rank_by_size", sizes=sizes, table=rank_by_size(ranks, sizes) if ready else None)


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
    "evaluation_architectures": "architectures (the change's unit)",
}
COROLLARY_NAMES = {
    TV: BY_NAME[TV].display,
    TV_FLOOR: BY_NAME[TV_FLOOR].display,
    "pairs": "pairs",
    "pairs_above_tv": "pairs above TV",
    "preserved_above_tv": "kept above TV",
    "pairs_above_2tv": "pairs above 2 TV",
    "preserved_above_2tv": "kept above 2 TV",
    "pairs_below_tv": "pairs below TV",
    "preserved_below_tv": "kept below TV",
}
#: Per selection table: what the report calls it, its columns there, its columns of fractions, and
#: whether it has a figure.
_SELECTION = {
    "protocols": ("selection protocols", PROTOCOL_COLUMNS, ("test error", "95% low", "95% high", "regret"), True),
    "calibration": ("calibration sweep", CALIBRATION_COLUMNS, (), True),
    "corollary": ("Corollary 3.3 check", None, (), False),
}


def _selection_section(
    key: str, trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> Markup:
    """A selection section (``key``: its table): per training set its figure and table."""
    what, columns, percent, plotted = _SELECTION[key]
    parts = {}
    for t, f in trainsets.items():
        table = tables[t].get(key)
        if table is not None:
            table = shown(table, columns) if columns else table.rename(COROLLARY_NAMES, strict=False)
        plot = plotted and figure(
            key,
            getattr(f, f"{key}_plot"),
            [getattr(f, key)],
            trainset=t,
            alt=f"{what}, {t}",
            what=f"the {what} figure",
        )
        parts[t] = {"table": table, "path": getattr(f, key), "plot": plot if table is not None else None}
    return render(key, parts=parts, key=key, what=what, percent=percent)


def protocol_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> Markup:
    return _selection_section("protocols", trainsets, tables, figure)


def calibration_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> Markup:
    return _selection_section("calibration", trainsets, tables, figure)


def corollary_section(
    trainsets: dict[str, TrainsetFiles], tables: dict[str, dict[str, pl.DataFrame]], figure: Figures
) -> Markup:
    return _selection_section("corollary", trainsets, tables, figure)


# --- training with synthetic data ---


def _percent(*columns: str, **renamed: str) -> list[pl.Expr]:
    """``columns`` as they are, then each of ``renamed`` (report name: fraction column) x100."""
    return [*map(pl.col, columns), *((pl.col(c) * 100).alias(name) for name, c in renamed.items())]


def _training_gains(summary: pl.DataFrame) -> pl.DataFrame:
    """Every run but real-only: its accuracy and the gain over real-only training, in %, with intervals."""
    return summary.filter(pl.col("method") != "real").select(
        _percent(
            "method",
            "generator",
            "seeds",
            **{"accuracy %": "accuracy", "low": "low", "high": "high"},
            **{"gain (points)": "gain", "gain low": "gain_low", "gain high": "gain_high"},
        )
    )


def _training(
    t: str, files: TrainingFiles, accuracy: pl.DataFrame | None, summary: pl.DataFrame | None, figure: Figures
) -> dict:
    if summary is None:
        return {"table": None, "accuracy_path": files.accuracy}
    gap = None if missing_files(files.content_gap) else read_frame(files.content_gap)
    robust = accuracy is not None and (accuracy["eval_set"] == "test_pgd").any()
    return {
        "table": study_table(summary),
        "gains": _training_gains(summary),
        "scaling": figure(
            "scaling",
            files.scaling_plot,
            [files.accuracy],
            trainset=t,
            alt=f"scaling, {t}",
            what="the scaling figure",
        ),
        "content_gap": figure(
            "content_gap",
            files.content_gap_plot,
            [files.content_gap],
            trainset=t,
            alt=f"content gap, {t}",
            what="the content-gap figure",
        ),
        "gap": content_gap_summary(gap) if gap is not None and gap.height else None,
        "pgd": method_summary(accuracy, eval_set="test_pgd").select(
            _percent("run", "seeds", **{"robust accuracy %": "accuracy", "95% low": "low", "95% high": "high"})
        )
        if robust and accuracy is not None
        else None,
    }


def training_section(
    trainsets: dict[str, TrainsetFiles],
    accuracies: dict[str, pl.DataFrame],
    studies: dict[str, pl.DataFrame],
    figure: Figures,
) -> Markup:
    parts = {
        t: _training(t, f.training, accuracies.get(t), studies.get(t), figure)
        for t, f in trainsets.items()
        if f.training is not None
    }
    return render("training", parts=parts)


# --- privacy and robustness (Yuan et al. 2024, §4.4-4.5) ---


def _lira(t: str, files: PrivacyFiles, figure: Figures) -> dict:
    if missing_files(files.attacks, files.roc):
        return {"table": None, "absent": [files.attacks, files.roc]}
    table = read_frame(files.attacks).select(
        "run",
        "attack",
        "targets",
        "members",
        "non_members",
        pl.col("auc").alias("AUC"),
        *_percent(
            **{
                "TPR % at 0.1% FPR": "tpr_at_0.1pct_fpr",
                "TPR % at 1% FPR": "tpr_at_1pct_fpr",
                "target test accuracy %": "test_accuracy",
            }
        ),
    )
    plot = figure(
        "lira",
        files.plot,
        [files.attacks, files.roc],
        trainset=t,
        alt=f"membership inference, {t}",
        what="the ROC figure",
    )
    return {"table": table, "plot": plot}


def lira_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> Markup:
    return render("privacy", parts={t: _lira(t, f.lira, figure) for t, f in trainsets.items() if f.lira is not None})


def _robustness(t: str, files: RobustnessFiles, figure: Figures) -> dict:
    if missing_files(files.accuracy):
        return {"table": None, "accuracy_path": files.accuracy}
    columns = {
        **{"accuracy %": "accuracy", "low": "low", "high": "high"},
        **{"drop (points)": "drop", "drop low": "drop_low", "drop high": "drop_high"},
        **{"excess drop (points)": "excess_drop", "excess low": "excess_low", "excess high": "excess_high"},
    }
    table = strongest_shift(read_frame(files.accuracy)).select(
        _percent("run", "shift", "severity", "seeds", "images", **columns)
    )
    plot = figure(
        "robustness",
        files.plot,
        [files.accuracy],
        trainset=t,
        alt=f"accuracy under shift, {t}",
        what="the robustness figure",
    )
    return {"table": table, "plot": plot}


def robustness_section(trainsets: dict[str, TrainsetFiles], figure: Figures) -> Markup:
    parts = {t: _robustness(t, f.robustness, figure) for t, f in trainsets.items() if f.robustness is not None}
    return render("robustness", parts=parts)
