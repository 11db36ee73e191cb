"""One run of the training study (rules ``train_recipe``, ``train_lira``): its training, in the job's
process or over ranks. The job then scores the weights it leaves in its work folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit, load_classifier
from synthval.data.stream import image_shape, training_images
from synthval.io import read_json
from synthval.recipes import Run
from synthval.runtime import device

if TYPE_CHECKING:
    import numpy as np

    from synthval.data.stream import ShardStream

log = logging.getLogger("synthval.jobs")


def run_stages(run: Run, workdir: str | Path) -> list[tuple[str, Path]]:
    """Where each training stage of ``run`` keeps its history and weights, with the data it trains on:
    ``synthetic>real`` has two, every other recipe one (the last stage's weights are the run's)."""
    workdir = Path(workdir)
    if run.data == "synthetic>real":
        return [("synthetic", workdir / "stage1"), ("real", workdir / "stage2")]
    return [(run.data, workdir)]


def _training_set(manifest: str, loading: dict, seed: int) -> tuple[np.ndarray | ShardStream, np.ndarray | None]:
    """A training set as fit takes it (synthval.data.stream.training_images), saying when it is streamed."""
    images, labels = training_images(manifest, loading, seed)
    if labels is None:
        log.info("%s: streamed from its shards every epoch (data.stream)", manifest)
    return images, labels


def _held(
    data: tuple[np.ndarray | ShardStream, np.ndarray | None] | tuple[None, None],
) -> tuple[np.ndarray | ShardStream, np.ndarray | None]:
    """A training set the run's recipe uses (read above: never the unused one's ``(None, None)``)."""
    images, labels = data
    if images is None:
        raise ValueError("the recipe trains on a set it does not use")
    return images, labels


def _guidance(run: Run, inputs: dict, guidance: dict) -> Guidance:
    """The run's Pretrained Guidance, Real Guidance and PGD settings (the rule's params)."""
    pg, rg, robust = guidance["pretrained_guidance"], guidance["real_guidance"], guidance["robust"]
    return Guidance(
        guide=load_classifier(inputs["guide"], device())[0] if run.pretrained_guidance else None,
        pg_weight=pg["weight"],
        pg_distance=pg["distance"],
        pg_loss=pg["loss"],
        pg_on=tuple(pg["on"]),
        real_guidance=run.real_guidance,
        lambda_real=rg["lambda_real"],
        lambda_synthetic=rg["lambda_synthetic"],
        adversarial={k: robust[k] for k in ("epsilon", "step_size", "steps")} if robust["enabled"] else None,
    )


def new_model(run: Run, spec: dict, seed: int, inputs: dict):
    """The run's network before training: every run of one seed starts from these weights."""
    h, _, c = image_shape(inputs["real"] if run.uses_real else inputs["synthetic"])
    return create_classifier(spec["arch"], read_json(inputs["test"])["num_classes"], c, h, seed=seed, **spec["hparams"])


def train_run(fields: dict, spec: dict, seed: int, inputs: dict, loading: dict, guidance: dict, workdir: str) -> None:
    """Train one run of the study (``fields``: a :class:`synthval.recipes.Run`'s fields; ``spec``: the
    study's network and trainer settings; ``inputs``: the rule's input paths by name; ``guidance``: its
    ``pretrained_guidance``, ``real_guidance`` and ``robust`` settings) with ``seed``, leaving each stage's
    history and weights in :func:`run_stages`' folders. Plain data in, so a rank can run it."""
    run = Run(**fields)
    none: tuple[None, None] = (None, None)
    real = _training_set(inputs["real"], loading, seed) if run.uses_real else none
    synthetic = _training_set(inputs["synthetic"], loading, seed) if run.uses_synthetic else none
    model, guide = new_model(run, spec, seed, inputs), _guidance(run, inputs, guidance)
    extra = {"run": run.name, "recipe": run.recipe}
    settings = TrainSettings(**spec["train"], save_epochs=[spec["train"]["epochs"]], seed=seed, extra=extra)
    stages = run_stages(run, workdir)
    if run.data == "synthetic>real":
        epochs = int(run.pretrain_epochs or 0)
        pre = TrainSettings(**{**spec["train"], "epochs": epochs}, save_epochs=[epochs], seed=seed, extra=extra)
        fit(model, *_held(synthetic), pre, stages[0][1], source="synthetic", guidance=guide)
        fit(model, *_held(real), settings, stages[1][1], guidance=guide, normalise=False)
    elif run.data == "synthetic":
        fit(model, *_held(synthetic), settings, stages[0][1], source="synthetic", guidance=guide)
    else:
        mix: tuple[np.ndarray, np.ndarray] | ShardStream | None = None
        if run.data == "real+synthetic":  # held images and labels, or a stream (no labels held)
            images, labels = _held(synthetic)
            mix = cast("ShardStream", images) if labels is None else (cast("np.ndarray", images), labels)
        fit(model, *_held(real), settings, stages[0][1], synthetic=mix, ratio=run.ratio, guidance=guide)
