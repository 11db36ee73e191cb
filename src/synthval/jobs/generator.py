"""A generator's training job (rules ``train_generator``, ``train_class_generator``), in one process or
over ranks."""

from __future__ import annotations

import logging

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.generators import conditioned_training_set, create_generator, save_generator, train_generator
from synthval.io import read_json
from synthval.metrics.frechet import FIDScore
from synthval.runtime import device, ranks
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
) -> None:
    """Train the generator ``spec`` describes (:func:`synthval.config.generator_spec`) on the split of
    ``train_manifest`` (class ``cls`` of it, for a per-class generator), scoring its checkpoints with the
    ``reference`` classifier when its ``eval_every`` > 0, and save it to ``weights``. ``summary``: the data
    summary whose class names a prompt-conditioned family reads. Plain data in, so a rank can run it."""
    family, conditioning = spec["family"], spec["conditioning"]
    arch, settings = dict(spec["architecture"]), spec["training"]
    train = read_image_set(train_manifest)
    images, labels, keys, num_classes = conditioned_training_set(
        conditioning, train.images, train.labels, train.keys, read_json(train_manifest)["num_classes"], cls
    )
    if cls is not None:
        log.info("class %d: %d training images", cls, len(images))
    h, _, c = images.shape[1:]
    if summary is not None and arch.get("class_names") is None:  # prompts name the source's classes
        arch["class_names"] = read_json(summary)["class_names"]
    model = create_generator(family, num_classes, c, h, **arch)
    if getattr(model, "latent_prior", False):  # scoring a checkpoint samples from the train split's latents
        model.set_prior(images, labels, keys)
    score = None
    if settings["eval_every"] > 0 and ranks()[0] == 0:  # rank 0 scores
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
    record = train_generator(model, images, labels, seed=seed, resume_path=resume, score=score, **settings)
    record.update(
        train_split=train_manifest,
        conditioning=conditioning,
        score="FID in reference-classifier features vs the train split" if score else None,
    )
    if ranks()[0] == 0:
        save_generator(weights, model.cpu(), record)
