"""synthesize_shard and synthesize_train_shard: sample one class-balanced shard of a synthetic set (the
validation set, or the training images of the training study) from its own derived seed;
samples of an unconditional generator are labelled by the reference classifier (pseudo_label)."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthval.classifiers import load_classifier
from synthval.data import write_shard
from synthval.data.stream import ManifestImages
from synthval.generators import load_generator, pseudo_labelled_sample, sample_images
from synthval.generators.synthesis import shard_labels
from synthval.io import read_json
from synthval.runtime import device, setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/synthesize_shard.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0], accelerator=p.accelerator)
    model: Any = load_generator(snakemake.input.generator, device())  # a family's own attributes are read
    metadata = None
    if p.settings["conditioning"] == "pseudo_label":
        reference, meta = load_classifier(snakemake.input.reference, device())
        quotas = np.bincount(
            shard_labels(meta["num_classes"], p.per_class, p.shards, p.index), minlength=meta["num_classes"]
        )
        images, labels, stats = pseudo_labelled_sample(
            model,
            reference,
            quotas,
            p.seed,
            p.settings["confidence"],
            p.batch_size,
            max_draws=p.settings["max_draws"] * int(quotas.sum()),
        )
        metadata = {"pseudo_labels": stats}
        if len(labels) == 0:
            raise SystemExit(
                f"no sample of {snakemake.wildcards.generator} reached confidence {stats['confidence']} in "
                f"{stats['drawn']} draws: "
                f"lower generators.{snakemake.wildcards.generator}.confidence or train the generator longer"
            )
        log.info(
            "pseudo-labels: drew %d, kept %d (confidence >= %.2f)", stats["drawn"], len(labels), stats["confidence"]
        )
    else:
        labels = shard_labels(model.num_classes, p.per_class, p.shards, p.index)
        if "train" in snakemake.input.keys():  # latent prior: samples start from real training images, each
            train = ManifestImages(snakemake.input.train)  # decoded where drawn (the split need not fit in memory)
            # this shard's stretch of the set's walk: each class from where the earlier shards stopped
            before = [shard_labels(model.num_classes, p.per_class, p.shards, i) for i in range(p.index)]
            start = np.bincount(np.concatenate([[], *before]).astype(np.int64), minlength=model.num_classes)
            model.set_prior(train, train.labels, train.keys, seed=p.prior_seed, start=start)
        images = sample_images(model, labels, p.seed, p.batch_size)
    name = snakemake.wildcards.generator
    keys = [f"{p.key_prefix}-{i:06d}" for i in range(len(labels))]
    if "train" in snakemake.input.keys():  # which real image seeded which sample
        metadata = {
            "latent_prior": {
                "strength": model.strength if model.latent_prior else None,  # null: only the guidance token's image
                "sources": dict(zip(keys, model.take_prior_keys(), strict=True)),
            }
        }
    write_shard(
        snakemake.output.shard,
        keys,
        images,
        labels,
        source="synthetic",
        generator=name,
        seed=p.seed,
        metadata=metadata,
        class_names=read_json(snakemake.input.summary)["class_names"],
        record=True,  # index_synthetic checks the shard against this record
    )
    log.info("wrote %d images (seed %d) to %s", len(labels), p.seed, snakemake.output.shard)
