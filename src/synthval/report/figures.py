"""Static matplotlib figures, written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from synthval.io import atomic_path  # noqa: E402
from synthval.selection import last_epoch  # noqa: E402
from synthval.zoo import parse_model  # noqa: E402


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def sample_grid(images: np.ndarray, labels: np.ndarray, path: str | Path, per_class: int = 10, title: str = "") -> None:
    """One row per class, the first ``per_class`` images of that class."""
    classes = np.unique(labels)
    h, w, c = images.shape[1:]
    grid = np.zeros((len(classes) * (h + 1), per_class * (w + 1), c), np.uint8)
    for r, cls in enumerate(classes):
        for k, img in enumerate(images[labels == cls][:per_class]):
            grid[r * (h + 1) : r * (h + 1) + h, k * (w + 1) : k * (w + 1) + w] = img
    fig, ax = plt.subplots(figsize=(per_class * 0.45 + 0.6, len(classes) * 0.45 + 0.4))
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, interpolation="nearest")
    ax.set_yticks([r * (h + 1) + h / 2 for r in range(len(classes))], [str(c_) for c_ in classes])
    ax.set_xticks([])
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def error_scatter(errors: pl.DataFrame, rank: pl.DataFrame, path: str | Path, reference: str = "test", title: str = "") -> None:
    """Test error against each evaluation set's error, one point per model at its last epoch (seed 000 Fig. 1)."""
    wide = last_epoch(errors).pivot(on="eval_set", index="model", values="error").sort("model")
    others = rank["eval_set"].to_list()
    fig, axes = plt.subplots(1, max(len(others), 1), figsize=(4.2 * max(len(others), 1), 3.8), squeeze=False)
    families = pl.Series([parse_model(m).family for m in wide["model"]])
    for ax, eval_set in zip(axes[0], others, strict=False):
        for family in families.unique().sort():
            sel = wide.filter(families == family)
            ax.scatter(sel[eval_set] * 100, sel[reference] * 100, label=family, s=22)
        row = rank.filter(pl.col("eval_set") == eval_set).row(0, named=True)
        interval = f" [{row['spearman_low']:.2f}, {row['spearman_high']:.2f}]" if "spearman_low" in row else ""
        ax.set_title(f"{eval_set}: Spearman rho = {row['spearman']:.2f}{interval} (n={row['n_models']})", fontsize=9)
        ax.set_xlabel(f"{'augmented training split' if eval_set == 'augmented' else 'synthetic'} error, {eval_set} (%)")
        ax.set_ylabel(f"{reference} error (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, title="architecture (rwnn: all random graphs)", title_fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
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
            line = ax.plot([p["step"] for p in pts], [p["score"] for p in pts], marker=".", label=f"class {i}" if len(records) > 1 else "FID")[0]
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
