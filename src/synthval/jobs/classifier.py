"""A zoo member's training job (rules ``train_classifier``, ``train_reference``) over ranks."""

from __future__ import annotations

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.data.stream import image_shape, training_images


def fit_member(
    spec: dict,
    seed: int,
    num_classes: int,
    manifest: str,
    settings: dict,
    work_dir: str,
    loading: dict,
    streamed: bool,
) -> None:
    """Train one zoo member (``spec``: :func:`synthval.zoo.training_spec`) on its split as a rank of a
    distributed job: the same seeded model on every rank, the split held or streamed (``loading``:
    synthval.plan.stage.Stage.loading), trained with ``settings`` (:class:`TrainSettings`' fields). Its
    history and weights are in ``work_dir`` (rank 0 writes them)."""
    h, _, c = image_shape(manifest)
    model = create_classifier(spec["arch"], num_classes, c, h, seed=seed, **spec["hparams"])
    images, labels = training_images(manifest, loading, seed, streamed)
    fit(model, images, labels, TrainSettings(**settings), work_dir)
