"""prepare_data: load the pool once, split it deterministically, write every split as Parquet shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthval.data import load_dataset, make_splits, write_sharded
from synthval.io import write_json
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/prepare_data.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    cfg = snakemake.params.data
    pool = load_dataset(
        cfg["source"], cfg["root"], cfg["image_size"], cfg["channels"], cfg["download"], cfg.get("num_classes")
    )
    if cfg.get("num_classes") is not None and len(pool.class_names) != cfg["num_classes"]:
        raise ValueError(
            f"{cfg['root'] or cfg['source']} has {len(pool.class_names)} classes but data.num_classes is "
            f"{cfg['num_classes']}"
        )
    log.info(
        "loaded %s: %d images %s, %d classes (label: class) %s",
        cfg["source"],
        len(pool.labels),
        pool.images.shape[1:],
        len(pool.class_names),
        ", ".join(f"{i}: {n}" for i, n in enumerate(pool.class_names[:20]))
        + (" ..." if len(pool.class_names) > 20 else ""),
    )
    if skipped := getattr(pool.images, "skipped", []):
        log.warning("skipped %d file(s) that are not images: %s", len(skipped), ", ".join(map(str, skipped[:5])))
    trainset = snakemake.wildcards.trainset
    # make_splits draws one permutation from (seed, pool size), so each size's splits are the same
    # whether it is computed alone or beside the others: training sets stay nested.
    splits = make_splits(len(pool.labels), {trainset: cfg["size"]}, cfg["val_fraction"], snakemake.params.seed)[
        trainset
    ]
    keys = np.array([f"{cfg['source']}-{i:07d}" for i in range(len(pool.labels))])
    summary = {
        "source": cfg["source"],
        "pool": len(pool.labels),
        "image_shape": list(pool.images.shape[1:]),
        "class_names": pool.class_names,
        "splits": {},
    }
    for split, idx in splits.items():
        folder = Path(snakemake.output.summary).parent / split
        write_sharded(
            folder,
            keys[idx].tolist(),
            pool.images[idx],
            pool.labels[idx],
            cfg["shard_size"],
            source=cfg["source"],
            class_names=pool.class_names,
            split=split,
            trainset=trainset,
            num_classes=len(pool.class_names),
            image_shape=list(pool.images.shape[1:]),
        )
        counts = np.bincount(pool.labels[idx], minlength=len(pool.class_names))
        summary["splits"][split] = {"count": len(idx), "per_class": counts.tolist()}
        log.info("%s/%s: %d images", trainset, split, len(idx))
    if isinstance(changes := getattr(pool.images, "changes", None), dict):  # an image folder, decoded as read
        skipped_files = len(getattr(pool.images, "skipped", []))
        counted = {what: n for what, n in sorted(changes.items()) if n}
        summary["decoding"] = {"skipped_files": skipped_files, **counted}
        log.info(
            "decoding the images written: %s",
            ", ".join(f"{n} {what}" for what, n in summary["decoding"].items()) or "nothing changed",
        )
    write_json(snakemake.output.summary, summary, seal=True)
