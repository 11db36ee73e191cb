"""lira_halves: the pool halves of membership inference (synthval.metrics.membership): every train-split
image in exactly half of the LiRA models, drawn from the config's seed; each half's images as an image
set, and the membership table the attack reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthval.data import derived_fields, read_image_set, write_sharded
from synthval.io import read_json, write_frame
from synthval.metrics.membership import balanced_halves
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/lira_halves.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    manifest = read_json(snakemake.input.train)
    pool = read_image_set(snakemake.input.train)
    member = balanced_halves(len(pool), p.models, p.seed)
    classes = manifest["num_classes"]
    for half, (inside, out) in enumerate(zip(member, snakemake.output.halves, strict=True)):
        missing = sorted(set(range(classes)) - set(pool.labels[inside].tolist()))
        if missing:
            raise ValueError(
                f"LiRA pool half {half} of {snakemake.input.train} has no image of class(es) {missing}: the pool of "
                f"{len(pool)} images is too small for privacy.lira.models={p.models} halves; use a larger training set"
            )
        index = np.flatnonzero(inside)
        write_sharded(
            Path(out).parent,
            [pool.keys[i] for i in index],
            pool.images[index],
            pool.labels[index],
            p.shard_size,
            split=f"lira-half-{half}",
            **derived_fields(manifest),
        )
    table = pl.DataFrame(
        {
            "key": np.tile(np.array(pool.keys), p.models),
            "model": np.repeat(np.arange(p.models), len(pool)),
            "member": member.reshape(-1),
        }
    )
    write_frame(snakemake.output.membership, table)
    log.info("%d pool images, %d LiRA models, each image in %d of them", len(pool), p.models, p.models // 2)
