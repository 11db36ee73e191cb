"""shift_split: one shifted test set of a training set: a corruption of the test split at severities
1-5 (synthval.data.corruptions, seeded by the config), or a real shifted test set the config names,
checked against the data's classes and brought to its image size like imported samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthval.data import derived_fields, read_image_set, write_sharded
from synthval.data.corruptions import SEVERITIES, corrupted_set
from synthval.data.imported import load_imported
from synthval.io import read_json
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/shift_split.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    shift = snakemake.wildcards.shift
    test_manifest = read_json(snakemake.input.test)
    if p.corruption:
        test = read_image_set(snakemake.input.test)
        shifted = corrupted_set(test, shift, p.seed)
        keys, images, labels = shifted.keys, shifted.images, shifted.labels
        extra = {"corruption": shift, "severities": list(SEVERITIES), "seed": p.seed}
        log.info("%s: %d test images at severities 1-5", shift, len(test))
    else:
        summary = read_json(snakemake.input.summary)
        try:
            images, labels, report = load_imported(
                snakemake.input.source, summary["class_names"], tuple(summary["image_shape"])
            )
        except ValueError as err:  # empty, unknown classes, unreadable: name the config key
            raise ValueError(f"config key robustness.sets.{shift}: {err}") from err
        keys = [f"{shift}-{i:06d}" for i in range(len(labels))]
        extra = {"imported": report}
        log.info(
            "%s: %d images of %s (%s), %d classes",
            shift,
            len(labels),
            report["path"],
            report["kind"],
            len(np.unique(labels)),
        )
    write_sharded(
        Path(snakemake.output.manifest).parent,
        keys,
        images,
        labels,
        p.shard_size,
        split=f"shift-{shift}",
        **derived_fields(test_manifest),
        **extra,
    )
