"""Static matplotlib figures, written atomically as PNG.

The drawing functions take tables; :func:`result_figure` draws one of the workflow's figures from the
files it is made of, with its title. The rules that make figures and the report, when it draws a figure a
partial run has not made yet, both go through it, so a figure looks the same whoever draws it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.artist import Artist

from synthval.data.images import tile_images
from synthval.evaluation.robustness import CLEAN, MEAN_CORRUPTION
from synthval.evaluation.study import method_summary, scaling_table
from synthval.io import atomic_path, read_frame, read_metadata
from synthval.live import read_live_log
from synthval.selection.ranking import ALL, FIT_MEMBERS, TRAIN_MEMBERS, last_epoch, with_members

#: the questions' statistics in a figure title's few words
SHORT_QUESTION = {"architecture": "arch. rho", "hyper-parameters": "hyper-param. tau", "seed": "seed tau"}

if TYPE_CHECKING:
    from synthval.report.html import Shown

plt.rcParams["svg.hashsalt"] = "synthval"  # the same figure gives the same SVG bytes
plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable, selectable


def _save(fig: plt.Figure, path: str | Path, hover: dict[Artist, Sequence[str]] | None = None) -> None:
    """Save as PNG or SVG, by the path's suffix. In an SVG, each point of a ``hover`` scatter carries its
    label as a ``<title>`` (the browser shows it on hover)."""
    svg = Path(path).suffix == ".svg"
    for i, artist in enumerate(hover or {}):
        artist.set_gid(f"hover{i}")
    with atomic_path(path) as tmp:
        if svg:
            fig.savefig(tmp, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
            if hover:
                tmp.write_text(_with_titles(tmp.read_text(), list(hover.values())))
        else:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def _with_titles(svg: str, labels: list[Sequence[str]]) -> str:
    """Give the k-th marker (``<use>``) of the group ``hover{i}`` the title ``labels[i][k]``."""
    for i, names in enumerate(labels):
        head, marker, tail = svg.partition(f'<g id="hover{i}">')
        if not marker:
            raise ValueError(f"scatter hover{i} is not in the SVG")
        uses = re.split(r"(<use [^>]*?)/>", tail, maxsplit=len(names))
        if len(uses) != 2 * len(names) + 1:
            raise ValueError(f"scatter hover{i} has fewer markers than its {len(names)} labels")
        for k, name in enumerate(names):
            uses[2 * k + 1] += f"><title>{html.escape(str(name))}</title></use>"
        svg = head + marker + "".join(uses)
    return svg


def sample_grid(images: np.ndarray, labels: np.ndarray, path: str | Path, per_class: int = 10, title: str = "") -> None:
    """One row per class, the first ``per_class`` images of that class."""
    classes = np.unique(labels)
    h, w, c = images.shape[1:]
    tiles = np.zeros((len(classes), per_class, h, w, c), np.uint8)  # a class short of images: black tiles
    for r, cls in enumerate(classes):
        first = images[labels == cls][:per_class]
        tiles[r, : len(first)] = first
    grid = tile_images(tiles.reshape(-1, h, w, c), per_class)
    fig, ax = plt.subplots(figsize=(per_class * 0.45 + 0.6, len(classes) * 0.45 + 0.4))
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, interpolation="nearest")
    ax.set_yticks([r * (h + 1) + h / 2 for r in range(len(classes))], [str(c_) for c_ in classes])
    ax.set_xticks([])
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None or fraction != fraction else f"{fraction * 100:.1f}%"


def error_scatter(
    errors: pl.DataFrame,
    rank: pl.DataFrame,
    path: str | Path,
    groups: dict[str, str] | None = None,
    reference: str = "test",
    title: str = "",
) -> None:
    """Test error against each evaluation set's error, one point per model at its last epoch, coloured by
    group (Shoshan et al. 2023 Fig. 1); the last panel is the real baseline, the fit members' val error (Fig. 3 row 2).
    Titles give the answers of the pooled zoo's questions that are defined: rho over architecture means,
    tau within architectures, tau within configurations (synthval.questions), with their intervals."""
    wide = (
        with_members(last_epoch(errors), groups)
        .pivot(on="eval_set", index=["model", "split", "group"], values="error")
        .sort("model")
    )
    panels = (
        rank.filter(pl.col("ranked").is_in([TRAIN_MEMBERS, FIT_MEMBERS]))
        .select("eval_set", "ranked")
        .unique(maintain_order=True)
        .rows()
    )
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4.2 * max(len(panels), 1), 3.9), squeeze=False)
    hover: dict[Artist, Sequence[str]] = {}
    for ax, (eval_set, ranked) in zip(axes[0], panels, strict=False):
        members = wide.filter(pl.col("split") == ("train" if ranked == TRAIN_MEMBERS else "fit"))
        for group in members["group"].unique().sort():
            sel = members.filter(pl.col("group") == group)
            points = ax.scatter(sel[eval_set] * 100, sel[reference] * 100, label=group, s=22)
            hover[points] = [
                f"{m}: {eval_set} {_percent(x)}, {reference} {_percent(y)}"
                for m, x, y in sel.select("model", eval_set, reference).iter_rows()
            ]
        rows = rank.filter(pl.col("eval_set") == eval_set, pl.col("ranked") == ranked, pl.col("group") == ALL)
        answers = "; ".join(
            f"{SHORT_QUESTION[r['question']]} {r['spearman']:.2f}"
            + (
                ""
                if r["spearman_low"] != r["spearman_low"]
                else f" [{r['spearman_low']:.2f}, {r['spearman_high']:.2f}]"
            )
            for r in rows.iter_rows(named=True)
            if r["question"] in SHORT_QUESTION and r["spearman"] == r["spearman"]
        )
        ax.set_title(f"{eval_set} ({ranked})" + (f"\n{answers}" if answers else ""), fontsize=8)
        kind = (
            "real val split"
            if eval_set == "val"
            else "augmented training split"
            if eval_set == "augmented"
            else "synthetic"
        )
        ax.set_xlabel(f"{kind} error, {eval_set} (%)")
        ax.set_ylabel(f"{reference} error (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, title="group", title_fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path, hover)


def class_error_heatmap(table: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Error (%) per evaluation set (rows: test first) and true class (columns), from
    :func:`~synthval.selection.ranking.class_errors`, each cell written in."""
    sets = sorted(table["eval_set"].unique().to_list(), key=lambda s: (s != "test", s))
    classes = sorted(table["label"].unique().to_list())
    grid = np.full((len(sets), len(classes)), np.nan)
    for row in table.iter_rows(named=True):
        grid[sets.index(row["eval_set"]), classes.index(row["label"])] = row["error"] * 100
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * len(classes), 0.8 + 0.4 * len(sets)))
    image = ax.imshow(grid, cmap="Reds", vmin=0, vmax=max(float(np.nanmax(grid)), 1.0), aspect="auto")
    for (r, c), value in np.ndenumerate(grid):
        if value == value:
            ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(classes)), [str(c) for c in classes], fontsize=7)
    ax.set_yticks(range(len(sets)), sets, fontsize=7)
    ax.set_xlabel("true class")
    fig.colorbar(image, ax=ax, label="error (%)", fraction=0.04)
    ax.set_title(f"error per class, mean over models{f' ({title})' if title else ''}", fontsize=9)
    _save(fig, path)


def generator_history(records: list[dict], path: str | Path, title: str = "") -> None:
    """Training losses (averaged over members when a generator is one per class) and, when
    checkpoints were scored, the score history with the kept checkpoint marked."""
    scored = any(r.get("scores") for r in records)
    fig, axes = plt.subplots(1, 2 if scored else 1, figsize=(9 if scored else 4.5, 3), squeeze=False)
    ax = axes[0][0]
    steps = [h["step"] for h in records[0]["history"]]
    keys = [k for k in records[0]["history"][0] if k != "step"] if steps else []
    for key in keys:
        ax.plot(steps, np.mean([[h[key] for h in r["history"]] for r in records], axis=0), label=key)
    ax.set_xlabel("generator step")
    ax.set_title("losses" + (f" (mean of {len(records)} class generators)" if len(records) > 1 else ""), fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if scored:
        ax = axes[0][1]
        for i, r in enumerate(records):
            pts = r.get("scores") or []
            line = ax.plot(
                [p["step"] for p in pts],
                [p["score"] for p in pts],
                marker=".",
                label=f"class {i}" if len(records) > 1 else "FID",
            )[0]
            chosen = [p for p in pts if p["step"] == r["chosen_step"]]
            if chosen:
                ax.plot(chosen[0]["step"], chosen[0]["score"], "o", ms=9, mfc="none", color=line.get_color())
        ax.set_xlabel("generator step")
        ax.set_title("quality score (lower is better; circled: kept)", fontsize=8)
        ax.legend(fontsize=6, ncol=2)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def draw_live_history(live_log: str | Path, path: str | Path, title: str = "") -> None:
    """The training-history figure of a generator still training, from what it has appended so far."""
    records = read_live_log(live_log)
    record = {
        "history": [r for r in records if "score" not in r],
        "scores": [r for r in records if "score" in r],
        "chosen_step": None,
    }
    generator_history([record], path, title=title)


def draw_generator_history(weights: str | Path, path: str | Path, title: str = "") -> None:
    """The training-history figure of a generator, from the record in its weights' metadata."""
    record = read_metadata(weights)["record"]
    generator_history(record.get("members", [record]), path, title=title)


def quality_curves(curves: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """PRD curves (Sajjadi et al. 2018: precision alpha against recall beta) and ARC curves (robust
    real-vs-synthetic accuracy against the ball radius) of every generator, whole sets only."""
    fig, (prd_ax, arc_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    overall = curves.filter(pl.col("class") == "all")
    for generator in overall["generator"].unique(maintain_order=True):
        one = overall.filter(pl.col("generator") == generator)
        p = one.filter(pl.col("curve") == "prd")
        prd_ax.plot(p["x"], p["y"], label=generator)
        a = one.filter(pl.col("curve") == "arc")
        arc_ax.plot(a["x"], a["y"], marker=".", label=generator)
    prd_ax.set(xlabel="recall (beta)", ylabel="precision (alpha)", xlim=(0, 1.02), ylim=(0, 1.02))
    prd_ax.set_title("PRD: curve meets alpha = beta at 1 - TV", fontsize=8)
    arc_ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    arc_ax.set(xlabel="ball radius epsilon (x real RMS radius)", ylabel="robust accuracy", ylim=(0.4, 1.02))
    arc_ax.set_title("ARC: real vs synthetic epsilon-balls (0.5 = chance)", fontsize=8)
    for ax in (prd_ax, arc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


_PROTOCOL_COLOURS = {
    "baseline (last epoch, any seed)": "#999999",
    "random model": "#999999",
    "ES": "#4c72b0",
    "RSS": "#4c72b0",
    "ES + RSS": "#4c72b0",
    "standard protocol": "#dd8452",
    "synthetic protocol": "#55a868",
    "oracle": "#222222",
}


def protocol_bars(protocols: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Test error of what each selection protocol chose (Shoshan et al. 2023 §4.2), one panel per selection set,
    with its 95% t-interval over configurations (ES / RSS) or its range over configuration resamples (HPS)
    as an error bar; the oracle's error is a dashed line."""
    if "group" in protocols.columns:  # the pooled zoo; per-group rows are in the tables
        protocols = protocols.filter(pl.col("group") == ALL)
    protocols = protocols.filter(~pl.col("protocol").str.contains(" minus "))  # differences, not errors
    sets = protocols["eval_set"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1,
        len(sets),
        figsize=(4.4 * len(sets), 0.32 * protocols["protocol"].n_unique() + 1.4),
        squeeze=False,
        sharex=True,
    )
    for ax, eval_set in zip(axes[0], sets, strict=True):
        rows = protocols.filter(pl.col("eval_set") == eval_set)
        names = rows["protocol"].to_list()
        err = rows["test_error"].to_numpy() * 100
        span = np.stack([err - rows["low"].to_numpy() * 100, rows["high"].to_numpy() * 100 - err]).clip(min=0)
        y = np.arange(len(names))[::-1]
        ax.barh(
            y,
            err,
            xerr=span,
            color=[_PROTOCOL_COLOURS.get(n, "#8172b3") for n in names],
            capsize=2.5,
            height=0.65,
            error_kw={"elinewidth": 0.8, "ecolor": "#555"},
        )
        oracle = rows.filter(pl.col("protocol") == "oracle")["test_error"]
        if oracle.len():
            ax.axvline(oracle[0] * 100, color="#222", lw=0.8, ls="--")
        ax.set_yticks(y, names, fontsize=7)
        ax.set_xlabel("test error of the choice (%)", fontsize=8)
        ax.set_title(f"selection set: {eval_set}", fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def calibration_sweep(calibration: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Spearman rho after calibration (Shoshan et al. 2023 §4.4) against the number of calibration models, one
    line per ridge strength with the min-max band over draws, and the uncalibrated rho dashed."""
    if "group" in calibration.columns:
        calibration = calibration.filter(pl.col("group") == ALL)
    generators = calibration["generator"].unique(maintain_order=True).to_list() if calibration.height else []
    if not generators:  # no fit members: nothing was calibrated
        _empty_figure(path, "not computed: no calibration models\n(zoo.train_splits has no fit)")
        return
    fig, axes = plt.subplots(1, len(generators), figsize=(4.2 * len(generators), 3.2), squeeze=False, sharey=True)
    for ax, generator in zip(axes[0], generators, strict=True):
        rows = calibration.filter(pl.col("generator") == generator).sort("calibration_models")
        for ridge in rows["ridge"].unique().sort():
            one = rows.filter(pl.col("ridge") == ridge)
            x = one["calibration_models"].to_numpy()
            line = ax.plot(x, one["spearman"].to_numpy(), marker="o", ms=3.5, label=f"lambda = {ridge:g}")[0]
            ax.fill_between(
                x,
                one["spearman_min"].to_numpy(),
                one["spearman_max"].to_numpy(),
                color=line.get_color(),
                alpha=0.15,
                lw=0,
            )
        ax.axhline(rows["uncalibrated_spearman"][0], color="#222", lw=0.9, ls="--", label="uncalibrated")
        if "chosen" in rows.columns and rows["chosen"].any():
            point = rows.filter(pl.col("chosen")).row(0, named=True)
            ax.plot(
                [point["calibration_models"]],
                [point["spearman"]],
                marker="*",
                ms=12,
                color="#c44e52",
                ls="none",
                label="operating point (not chosen on test)",
            )
        ax.set_xlabel("calibration models (trained on fit)", fontsize=8)
        ax.set_title(generator, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Spearman rho vs test error")
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)


def _empty_figure(path: str | Path, text: str) -> None:
    fig, ax = plt.subplots(figsize=(4.2, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    ax.set_axis_off()
    _save(fig, path)


def scaling_curve(summary: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Test accuracy of synthetic-only training against the synthetic set's size in multiples of the
    real training set (Yuan et al.'s scaling), one line per generator with the 95% t-interval over seeds
    as a band, and real-only training (with its interval) as the dashed reference."""
    if not (scaling := scaling_table(summary)).height:
        _empty_figure(path, "not computed: no synthetic-only runs\n(training.scaling and training.methods)")
        return
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for generator in scaling["generator"].unique(maintain_order=True).sort():
        rows = scaling.filter(pl.col("generator") == generator).sort("scale")
        x = rows["scale"].to_numpy()
        line = ax.plot(x, rows["accuracy"].to_numpy() * 100, marker="o", ms=4, label=f"synthetic only: {generator}")[0]
        band = np.clip(
            np.stack([rows["low"].to_numpy(), rows["high"].to_numpy()]) * 100, 0, 100
        )  # accuracy lies in [0, 100]
        ax.fill_between(x, band[0], band[1], color=line.get_color(), alpha=0.15, lw=0)
    real = summary.filter(pl.col("method") == "real")
    if real.height:
        row = real.row(0, named=True)
        ax.axhline(row["accuracy"] * 100, color="#222", lw=0.9, ls="--", label=f"real only ({row['method']})")
        if np.isfinite(row["low"]):
            ax.axhspan(max(row["low"], 0) * 100, min(row["high"], 1) * 100, color="#222", alpha=0.08, lw=0)
    ax.set_xscale("log")
    ticks = sorted(scaling["scale"].unique().to_list())
    ax.set_xticks(ticks, [f"{t}x" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("synthetic training images (multiples of the real training set)", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    _save(fig, path)


def content_gap_histograms(gap: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Wang et al. 2024 Fig. 3, one panel per generator: the per-sample cross-entropy of synthetic training
    images under real-only classifiers (solid) and of real training images under synthetic-only
    classifiers (outlined), all seeds pooled; low loss means the sample adds little the classifier
    has not learnt."""
    generators = gap["generator"].unique().sort().to_list() if gap.height else []
    if not generators:
        _empty_figure(path, "not computed: no real-only or synthetic-only run")
        return
    top = max(cast(float, gap["loss"].quantile(0.99)), 1e-3)
    bins = np.linspace(0, top, 31)
    fig, axes = plt.subplots(1, len(generators), figsize=(4.2 * len(generators), 3.0), squeeze=False, sharey=True)
    for ax, generator in zip(axes[0], generators, strict=True):
        for direction, style in (
            ("synthetic under real", {"alpha": 0.6}),
            ("real under synthetic", {"histtype": "step", "lw": 1.4, "ls": "--"}),
        ):
            losses = gap.filter((pl.col("generator") == generator) & (pl.col("direction") == direction))[
                "loss"
            ].to_numpy()
            if len(losses):
                ax.hist(
                    np.clip(losses, 0, top),
                    bins=bins,
                    weights=np.full(len(losses), 100 / len(losses)),
                    label=f"{direction} (median {np.median(losses):.3f})",
                    **style,
                )
        ax.set_xlabel("per-sample cross-entropy", fontsize=8)
        ax.set_title(generator, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("% of samples")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def copy_histograms(tables: dict[str, pl.DataFrame], path: str | Path, title: str = "") -> None:
    """Per synthetic set: the cosine similarity of its images to their nearest training image, beside
    the held-out real images' (Yuan et al. 2024 App. G); the dashed line is the near-copy threshold."""
    from synthval.metrics.copies import HELD_OUT, SYNTHETIC, copy_summary

    fig, axes = plt.subplots(1, len(tables), figsize=(3.6 * len(tables), 2.8), squeeze=False, sharey=True)
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        values = table["similarity"].to_numpy()
        bins = np.linspace(values.min(), values.max() + 1e-9, 31)
        for which, style in ((HELD_OUT, {"histtype": "step", "lw": 1.4, "color": "#222"}), (SYNTHETIC, {"alpha": 0.6})):
            x = table.filter(pl.col("set") == which)["similarity"].to_numpy()
            ax.hist(x, bins=bins, weights=np.full(len(x), 100 / max(len(x), 1)), label=f"{which} ({len(x)})", **style)
        ax.axvline(copy_summary(table)["threshold"], color="#c33", lw=0.9, ls="--")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("cosine similarity to the nearest training image", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("% of images")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def closest_pairs(
    tables: dict[str, pl.DataFrame], images: dict[str, tuple[list[str], np.ndarray]], path: str | Path, k: int = 8
) -> None:
    """Per synthetic set, its ``k`` images most similar to a training image, each above that training
    image (``images``: set name or ``train`` -> keys and uint8 NHWC images)."""
    from synthval.metrics.copies import SYNTHETIC

    train_index = {key: i for i, key in enumerate(images["train"][0])}
    fig, axes = plt.subplots(2 * len(tables), k, figsize=(1.1 * k, 2.3 * len(tables)), squeeze=False)
    for row, (name, table) in enumerate(tables.items()):
        keys, pictures = images[name]
        index = {key: i for i, key in enumerate(keys)}
        top = table.filter(pl.col("set") == SYNTHETIC).sort("similarity", descending=True).head(k)
        for col in range(k):
            for ax in (axes[2 * row][col], axes[2 * row + 1][col]):
                ax.set_axis_off()
            if col >= top.height:
                continue
            pair = top.row(col, named=True)
            for ax, img in (
                (axes[2 * row][col], pictures[index[pair["key"]]]),
                (axes[2 * row + 1][col], images["train"][1][train_index[pair["nearest_train"]]]),
            ):
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
            axes[2 * row][col].set_title(f"{pair['similarity']:.3f}", fontsize=7)
        axes[2 * row][0].text(
            -0.1, 0.5, name, transform=axes[2 * row][0].transAxes, ha="right", va="center", fontsize=8
        )
        axes[2 * row + 1][0].text(
            -0.1, 0.5, "train", transform=axes[2 * row + 1][0].transAxes, ha="right", va="center", fontsize=8
        )
    _save(fig, path)


def lira_roc(attacks: pl.DataFrame, roc: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Carlini et al.'s Fig. 1 style: the ROC of membership inference on log-log axes, one panel per
    attack, one line per attacked run, with the chance diagonal; the legend gives each run's AUC and
    TPR at 1% FPR, and the title the numbers of targets and pool images."""
    kinds = [
        a for a in ("online", "online_fixed_variance", "offline", "offline_fixed_variance") if a in set(roc["attack"])
    ]
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.6 * len(kinds), 3.4), squeeze=False, sharey=True)
    floor = 1.0 / max(int(attacks["non_members"].to_numpy().max()), 1)
    for ax, attack in zip(axes[0], kinds, strict=True):
        for run in attacks["run"].unique(maintain_order=True):
            curve = roc.filter((pl.col("attack") == attack) & (pl.col("run") == run))
            row = attacks.filter((pl.col("attack") == attack) & (pl.col("run") == run)).row(0, named=True)
            ax.plot(
                np.maximum(curve["fpr"].to_numpy(), floor),
                np.maximum(curve["tpr"].to_numpy(), floor),
                lw=1.2,
                label=f"{run}: AUC {row['auc']:.3f}, TPR@1% {100 * row['tpr_at_1pct_fpr']:.1f}%",
            )
        ax.plot([floor, 1], [floor, 1], color="#888", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(floor, 1)
        ax.set_ylim(floor, 1)
        ax.set_xlabel("false positive rate", fontsize=8)
        ax.set_title(attack.replace("_", " "), fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, loc="lower right")
    axes[0][0].set_ylabel("true positive rate")
    first = attacks.row(0, named=True)
    fig.suptitle(
        f"{title}: {first['targets']} targets x {first['shadows']} shadows, "
        f"{first['members']} member and {first['non_members']} non-member queries per run",
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, path)


def robustness_curves(summary: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """Test accuracy against shift severity (0: the clean test split), one panel per shift, the mean
    over corruptions first, one line per study run with its 95% t-interval over seeds as a band;
    a user's shifted set is one point beside the clean one."""
    shifts = [s for s in summary["shift"].unique().sort().to_list() if s != CLEAN]
    shifts = sorted(shifts, key=lambda s: s != MEAN_CORRUPTION)
    if not shifts:
        _empty_figure(path, "not computed: no shifted test sets")
        return
    cols = min(4, len(shifts))
    rows = -(-len(shifts) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharey=True)
    clean = summary.filter(pl.col("shift") == CLEAN)
    for ax, shift in zip(axes.flat, shifts, strict=False):
        for run in summary["run"].unique().sort():
            part = pl.concat(
                [
                    clean.filter(pl.col("run") == run),
                    summary.filter((pl.col("run") == run) & (pl.col("shift") == shift)),
                ]
            ).sort("severity")
            x = part["severity"].to_numpy()
            line = ax.plot(x, part["accuracy"].to_numpy() * 100, marker="o", ms=3, lw=1.1, label=run)[0]
            band = np.clip(np.stack([part["low"].to_numpy(), part["high"].to_numpy()]) * 100, 0, 100)
            ax.fill_between(x, band[0], band[1], color=line.get_color(), alpha=0.12, lw=0)
        ax.set_title(shift.replace("_", " "), fontsize=9)
        ax.set_xticks(
            sorted(
                set(clean["severity"].to_list()) | set(summary.filter(pl.col("shift") == shift)["severity"].to_list())
            )
        )
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(shifts) :]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (%)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("severity (0: clean)", fontsize=8)
    axes.flat[0].legend(fontsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def real_image_curve(curve: pl.DataFrame, worth: pl.DataFrame, path: str | Path, title: str = "") -> None:
    """The real-image curve (mean Spearman rho over configurations of random real validation sets of n
    images, drawn from one half of the test split and scored on the other), one line per group, and each
    selection set's rho on the same scoring half as a dashed line (synthval.selection.worth)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, group in enumerate(curve["group"].unique(maintain_order=True)):
        one = curve.filter(pl.col("group") == group)
        ax.plot(
            one["images"], one["spearman"], marker="o", ms=3, color=colours[i % len(colours)], label=f"real, {group}"
        )
    for k, row in enumerate(worth.filter(pl.col("group") == ALL).iter_rows(named=True)):
        ax.axhline(row["spearman"], ls="--", lw=0.9, color=colours[(k + 3) % len(colours)], label=row["eval_set"])
    ax.set_xscale("log")
    ax.set_xlabel("labelled real validation images (n)")
    ax.set_ylabel("Spearman rho vs test (scoring half)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


# --- the workflow's figures, from their files ---


def _tables(sources: Sequence[str | Path]) -> pl.DataFrame:
    return pl.concat([read_frame(p) for p in sources])


@dataclass(frozen=True)
class _Figure:
    draw: Callable[[Sequence[str | Path], Path, str], None]  # (sources, out, title)
    title: Callable[[str, str], str]  # (training set, generator) -> title


FIGURES: dict[str, _Figure] = {
    # a generator's training history, from its weights' record
    "generator_history": _Figure(
        lambda src, out, title: draw_generator_history(src[0], out, title=title),
        lambda trainset, generator: f"{generator} ({trainset})",
    ),
    # a generator's history so far, from its live log
    "generator_live": _Figure(
        lambda src, out, title: draw_live_history(src[0], out, title=title),
        lambda trainset, generator: f"{generator} ({trainset}), training",
    ),
    # every generator's PRD and ARC curves
    "quality": _Figure(
        lambda src, out, title: quality_curves(_tables(src), out, title=title),
        lambda trainset, _: f"synthetic sets of {trainset}",
    ),
    "protocols": _Figure(
        lambda src, out, title: protocol_bars(_tables(src), out, title=title), lambda trainset, _: trainset
    ),
    "calibration": _Figure(
        lambda src, out, title: calibration_sweep(_tables(src), out, title=title), lambda trainset, _: trainset
    ),
    # the training study's accuracy table
    "scaling": _Figure(
        lambda src, out, title: scaling_curve(method_summary(_tables(src)), out, title=title),
        lambda trainset, _: f"scaling on {trainset}",
    ),
    "content_gap": _Figure(
        lambda src, out, title: content_gap_histograms(_tables(src), out, title=title),
        lambda trainset, _: f"content gap on {trainset}",
    ),
}


FIGURES["lira"] = _Figure(  # sources: the attacks' summary, then the ROC curves
    lambda src, out, title: lira_roc(read_frame(src[0]), read_frame(src[1]), out, title=title),
    lambda trainset, _: f"membership inference, {trainset}",
)
FIGURES["worth"] = _Figure(  # sources: the worth of each set, then the real-image curve
    lambda src, out, title: real_image_curve(read_frame(src[1]), read_frame(src[0]), out, title=title),
    lambda trainset, _: f"what a synthetic set is worth in real images, {trainset}",
)
FIGURES["robustness"] = _Figure(
    lambda src, out, title: robustness_curves(_tables(src), out, title=title),
    lambda trainset, _: f"accuracy under shift, {trainset}",
)


def _copy_tables(sources: Sequence[str | Path]) -> dict[str, pl.DataFrame]:
    """{generator: copies table} of the copies tables among ``sources`` (.../<generator>/copies.parquet)."""
    return {Path(p).parent.name: read_frame(p) for p in sources if Path(p).name == "copies.parquet"}


def _copy_pairs(sources: Sequence[str | Path], out: Path, title: str) -> None:
    from synthval.data import read_image_set

    tables = _copy_tables(sources)
    manifests = [Path(p) for p in sources if Path(p).name == "manifest.json"]
    images = {}
    for manifest in manifests:  # the train split's, then each synthetic set's
        name = "train" if manifest.parent.name == "train" else manifest.parent.name
        data = read_image_set(manifest, verify=False)
        images[name] = (data.keys, data.images)
    closest_pairs(tables, images, out)


FIGURES["copies"] = _Figure(
    lambda src, out, title: copy_histograms(_copy_tables(src), out, title=title),
    lambda trainset, _: f"nearest training image, {trainset}",
)
# sources: the copies tables, the train split's manifest and every synthetic set's
FIGURES["copy_pairs"] = _Figure(_copy_pairs, lambda trainset, _: f"closest pairs, {trainset}")


def result_figure(
    kind: str, sources: Sequence[str | Path], out: str | Path, *, trainset: str, generator: str = ""
) -> None:
    """Draw the workflow's figure ``kind`` (a key of :data:`FIGURES`) of ``trainset`` (and
    ``generator``) from its ``sources`` (the files the rule that makes it reads) to ``out``."""
    figure = FIGURES[kind]
    figure.draw(list(sources), Path(out), figure.title(trainset, generator))


class Figures:
    """The report's figures: inline one the workflow made; when a partial run has not made it yet but
    its sources are there, draw it (:func:`result_figure`, as the workflow would) into ``folder``;
    otherwise say what is missing."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.count = 0

    def __call__(
        self,
        kind: str,
        path: str | Path,
        sources: Sequence[str | Path],
        *,
        trainset: str,
        generator: str = "",
        alt: str,
        what: str,
    ) -> Shown:
        from synthval.report.html import Shown, image_tag, missing_html

        if Path(path).is_file():
            return Shown(image_tag(path, alt), True)
        absent = [str(p) for p in sources if not Path(p).is_file()]
        if absent:
            return Shown(missing_html(what, absent), False)
        self.count += 1
        drawn = self.folder / f"figure-{self.count}{Path(path).suffix}"
        result_figure(kind, sources, drawn, trainset=trainset, generator=generator)
        return Shown(image_tag(drawn, alt), True)
