"""features: one feature vector per image of the real train split or of a synthetic set, in the
configured extractor's space, with the extractor recorded in the file."""

import numpy as np
import torch

from synthval.data import read_image_set
from synthval.io import save_tensors
from synthval.metrics.extractors import build_extractor
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, log_file=snakemake.log[0])
images = read_image_set(snakemake.input.images)
extractor = build_extractor(p.quality, snakemake.input.extractor)
log.info("extracting %s features of %d images of %s", extractor.name, len(images), p.dataset)
features = extractor(images.images)
save_tensors(
    snakemake.output.features,
    {"features": torch.as_tensor(features), "labels": torch.as_tensor(np.asarray(images.labels))},
    {
        "extractor": extractor.name,
        **extractor.info,
        "dataset": p.dataset,
        "source": snakemake.input.images,
        "count": len(features),
    },
)
log.info("%d x %d features written to %s", *features.shape, snakemake.output.features)
