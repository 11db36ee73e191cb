"""augment_split: the augmented training split, a validation set of Li et al. (2020) (Shoshan et al. 2023 §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthval.data import derived_fields, read_image_set, write_sharded
from synthval.data.augment import augmented_set
from synthval.io import read_json
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/augment_split.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    manifest = read_json(snakemake.input.split)
    split = read_image_set(snakemake.input.split)
    augmented = augmented_set(split, p.settings, p.seed)
    log.info("%s: %d images -> %d augmented with %s", snakemake.input.split, len(split), len(augmented), p.settings)
    write_sharded(
        Path(snakemake.output.manifest).parent,
        augmented.keys,
        augmented.images,
        augmented.labels,
        p.shard_size,
        split=f"augmented-{manifest['split']}",
        augmentation=p.settings,
        **derived_fields(manifest),
    )
