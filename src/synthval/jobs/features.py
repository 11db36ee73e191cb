"""features: one feature vector per image of the real train split or of a synthetic set, in the
configured extractor's space, with the extractor recorded in the file. The set is streamed in the
extractor's batches (synthval.data.stream): memory holds one batch and the features, whatever the set's size."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthval.data.stream import ShardStream, stream_batches
from synthval.io import save_tensors
from synthval.metrics.extractors import build_extractor
from synthval.runtime import Progress, setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/features.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0], accelerator=p.accelerator)
    stream = ShardStream(snakemake.input.images)
    extractor = build_extractor(p.quality, snakemake.input.extractor)
    log.info("extracting %s features of %d images of %s", extractor.name, len(stream), p.dataset)
    progress = Progress(log, "images", len(stream))
    parts, labels = [], []
    for batch in stream_batches(stream, extractor.batch_size):
        parts.append(extractor(batch.images))
        labels.append(batch.labels)
        progress.update(sum(map(len, labels)))
    features = np.concatenate(parts)
    save_tensors(
        snakemake.output.features,
        {"features": torch.as_tensor(features), "labels": torch.as_tensor(np.concatenate(labels))},
        {
            "extractor": extractor.name,
            **extractor.info,
            "dataset": p.dataset,
            "source": snakemake.input.images,
            "count": len(features),
        },
    )
    log.info("%d x %d features written to %s", *features.shape, snakemake.output.features)
