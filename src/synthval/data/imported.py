"""Synthetic images made elsewhere (generator family ``imported``): a user's own generator's output
(StyleGAN, EDM, a diffusion model run by hand) as an ImageFolder (``root/<class name>/<image>``), a
Parquet table (``image`` bytes, ``label``) or an ``.npz`` (``images``, ``labels``) becomes a synthetic set
like any other: the same shards, manifest, quality metrics, ranking and report.

Checked on import: labels within the dataset's classes (an ImageFolder's sub-folders must be the
dataset's class names, or class indices); images brought to the dataset's size and channels (what was
changed is recorded); the per-class counts are reported, and a class without images is an error, since
the set must represent every class the models are ranked on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from synthval.data.datasets import read_source, resize_images


def source_kind(path: str | Path) -> str:
    """imagefolder (a directory), parquet (.parquet) or npz (.npz)."""
    path = Path(path)
    if path.is_dir():
        return "imagefolder"
    if path.suffix in (".parquet", ".npz"):
        return path.suffix[1:]
    raise ValueError(f"imported samples: {path} is neither a directory (ImageFolder) nor a .parquet or .npz file")


def source_digest(path: str | Path) -> str:
    """sha256 of the file, or of a folder's files (their relative paths and bytes, in sorted order)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def load_imported(
    path: str | Path, class_names: list[str], image_shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The imported images (uint8 NHWC, at ``image_shape``) and labels (indices into ``class_names``),
    in a fixed order (by label, then as the source lists them), and what the import checked and changed."""
    path = Path(path)
    kind = source_kind(path)
    num_classes = len(class_names)
    raw = read_source(kind, path)
    if kind == "imagefolder":
        index = {name: i for i, name in enumerate(class_names)}
        index |= {str(i): i for i in range(num_classes) if str(i) not in index}
        unknown = sorted(set(raw.class_names) - set(index))
        if unknown:
            raise ValueError(
                f"imported samples {path}: sub-folder(s) {unknown[:5]} are not classes of the data "
                f"({', '.join(class_names[:10])}{', ...' if num_classes > 10 else ''}) or class indices"
            )
        labels = np.asarray([index[raw.class_names[y]] for y in raw.labels], np.int64)
        images = raw.images
    else:
        images, labels = raw.images, raw.labels
    if len(labels) == 0:
        raise ValueError(f"imported samples {path}: no images")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if len(bad):
        raise ValueError(
            f"imported samples {path}: {len(bad)} label(s) outside 0..{num_classes - 1}, "
            f"e.g. {sorted(set(bad.tolist()))[:5]}"
        )
    per_class = np.bincount(labels, minlength=num_classes)
    if (per_class == 0).any():
        empty = [class_names[c] for c in np.flatnonzero(per_class == 0)]
        raise ValueError(f"imported samples {path}: no image of class(es) {empty[:10]}")
    source_shape = list(images.shape[1:])
    h, w, c = image_shape
    images = resize_images(images, h, c) if (h, w, c) != tuple(source_shape) else images
    order = np.argsort(labels, kind="stable")
    report = {
        "path": str(path),
        "kind": kind,
        "sha256": source_digest(path),
        "count": len(labels),
        "per_class": per_class.tolist(),
        "source_shape": source_shape,
        "converted": source_shape != [h, w, c],
    }
    return images[order], labels[order], report


def shard_part(count: int, shards: int, index: int) -> np.ndarray:
    """The positions shard ``index`` of ``shards`` takes: every ``shards``-th from ``index`` (so each
    shard gets a share of every class of a set sorted by label)."""
    return np.arange(index, count, shards)
