"""A generator's training job (rules ``train_generator``, ``train_class_generator``), in one process or
over ranks."""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np

from synthval.classifiers import load_classifier
from synthval.classifiers.distributed import run_ranks
from synthval.data import read_image_set
from synthval.data.stream import ManifestImages, ShardStream, image_shape, should_stream, training_images
from synthval.families import checkpoints_scored
from synthval.generators import conditioned_training_set, create_generator, save_generator, train_generator
from synthval.io import read_json
from synthval.metrics.frechet import FIDScore
from synthval.runtime import device, ranks, setup
from synthval.seeding import derive_seed

log = logging.getLogger("synthval.generators")


def train_generator_job(
    spec: dict,
    train_manifest: str,
    seed: int,
    resume: str,
    weights: str,
    summary: str | None = None,
    reference: str | None = None,
    cls: int | None = None,
    loading: dict | None = None,
) -> None:
    """Train the generator ``spec`` describes (:func:`synthval.config.generator_spec`) on the split of
    ``train_manifest`` (class ``cls`` of it, for a per-class generator), scoring its checkpoints with the
    ``reference`` classifier when its ``eval_every`` > 0, and save it to ``weights``. ``summary``: the data
    summary whose class names a prompt-conditioned family reads. A split too large to hold (``loading``:
    synthval.plan.stage.Stage.loading) is streamed from its shards. Plain data in, so a rank can run it."""
    family, conditioning = spec["family"], spec["conditioning"]
    arch, settings = dict(spec["architecture"]), spec["training"]
    images: np.ndarray | ShardStream
    labels: np.ndarray | None
    prior: tuple[Any, np.ndarray, list[str]]  # the latent prior's images (held, or decoded where drawn)
    if loading is not None and should_stream(train_manifest, loading):
        images, labels, num_classes = _streamed_split(train_manifest, conditioning, loading, seed)
        lazy = ManifestImages(train_manifest)  # the latent prior's images, decoded where drawn
        prior = (lazy, lazy.labels if num_classes > 1 else np.zeros_like(lazy.labels), lazy.keys)
    else:
        train = read_image_set(train_manifest)
        images, labels, keys, num_classes = conditioned_training_set(
            conditioning, train.images, train.labels, train.keys, read_json(train_manifest)["num_classes"], cls
        )
        prior = (images, labels, keys)
    if cls is not None:
        log.info("class %d: %d training images", cls, len(images))
    h, _, c = image_shape(train_manifest)
    if summary is not None and arch.get("class_names") is None:  # prompts name the source's classes
        arch["class_names"] = read_json(summary)["class_names"]
    model = create_generator(family, num_classes, c, h, **arch)
    if getattr(model, "uses_real_images", False):  # scoring a checkpoint samples from the train split's images
        cast(Any, model).set_prior(*prior)
    score = None
    if checkpoints_scored(settings) and ranks()[0] == 0:  # rank 0 scores
        if reference is None:
            raise ValueError(f"{family} is scored every {settings['eval_every']} steps: that needs a reference")
        classifier, _ = load_classifier(reference, device())
        score = FIDScore(classifier, images, spec["eval_samples"], seed=derive_seed(seed, "score"))
    world = ranks()[1]
    log.info(
        "training %s (%s) on %d images of %s%s",
        family,
        conditioning,
        len(images),
        train_manifest,
        f" over {world} ranks" if world > 1 else "",
    )
    record = train_generator(
        model, images, labels, seed=seed, resume_path=resume, score=score, keys=prior[2], **settings
    )
    record.update(
        train_split=train_manifest,
        conditioning=conditioning,
        score="FID in reference-classifier features vs the train split" if score else None,
    )
    if ranks()[0] == 0:
        save_generator(weights, model.cpu(), record)


def _streamed_split(
    manifest: str, conditioning: str, loading: dict, seed: int
) -> tuple[np.ndarray | ShardStream, None, int]:
    """A generator's split read as a seeded stream: (stream, None, its class count); a pseudo-labelled
    generator's one class stands for all (its trainer reads label 0)."""
    if conditioning == "per_class":
        raise ValueError(
            f"{manifest}: a per_class generator reads its class from the split held in memory; this split is "
            "streamed (data.stream): use class conditioning, or data.stream: never"
        )
    stream, _ = training_images(manifest, loading, seed, streamed=True)
    log.info("%s: streamed from its shards (data.stream)", manifest)
    return stream, None, 1 if conditioning == "pseudo_label" else read_json(manifest)["num_classes"]


def run(snakemake: Any) -> None:
    """train_generator and train_class_generator: fit one generator on one training split (never the test
    split), scoring checkpoints with the reference classifier when ``eval_every`` > 0. What it trains and
    how is the plan's spec (:func:`synthval.config.generator_spec`); the training itself is
    :func:`synthval.jobs.generator.train_generator_job`, run here or, with ``ranks`` > 1, as one distributed job over
    the node's GPUs."""
    p = snakemake.params
    log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
    inputs = snakemake.input
    job = (
        p.spec,
        inputs.train,
        p.seed,
        p.resume,
        snakemake.output.weights,
        inputs.summary if "summary" in inputs.keys() else None,
        inputs.reference if "reference" in inputs.keys() else None,
        getattr(p, "cls", None),
        p.loading,
    )
    if p.ranks > 1:
        log.info("training over %d ranks (rank 0 writes)", p.ranks)
        run_ranks(p.ranks, 1, "synthval.jobs.generator:train_generator_job", *job)
    else:
        train_generator_job(*job)
