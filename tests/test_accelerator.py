"""The accelerator settings (config ``accelerator``; synthval.runtime.Accelerator), each on the path it
changes: bf16 and fp16 autocast (with fp16's loss scaling, saved in the resume state), channels-last and
torch.compile in training, and the precision of prediction, features and sampling. On the CPU each runs
only when asked for by name, which is how these tests reach them."""

import json
import os

import numpy as np
import pytest
import torch
from kills import killed_after_epoch

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.classifiers.batched import fit_batched
from synthval.evaluation.predict import predict_logits
from synthval.generators import create_generator, sample_images
from synthval.io import load_tensors
from synthval.runtime import ACCELERATOR_VARIABLE, Accelerator, accelerator, setup


def _use(monkeypatch, **settings):
    monkeypatch.setenv(ACCELERATOR_VARIABLE, json.dumps(settings))


def _separable(n=200, size=8):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    images = np.where(labels[:, None, None, None] == 1, 200, 40).astype(np.uint8) + rng.integers(
        0, 30, (n, size, size, 1), dtype=np.uint8
    )
    return images, labels


def test_settings_are_checked_and_reach_the_processes_a_job_starts(monkeypatch):
    monkeypatch.setenv(ACCELERATOR_VARIABLE, "")  # and restored after the test, whatever setup writes there
    assert accelerator() == Accelerator()  # outside a job: the defaults
    cpu = torch.device("cpu")
    assert Accelerator().dtype(cpu) is None
    assert not Accelerator().scaler(cpu).is_enabled()
    assert Accelerator().memory_format(cpu) == torch.contiguous_format
    assert Accelerator(precision="bf16").dtype(cpu) == torch.bfloat16
    assert Accelerator(precision="fp16").scaler(cpu).is_enabled()
    for bad in ({"precision": "fp8"}, {"channels_last": "yes"}, {"compile": "fast"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Accelerator(**bad)
    setup(1, accelerator={"precision": "bf16", "compile": False})
    assert json.loads(os.environ[ACCELERATOR_VARIABLE])["precision"] == "bf16"  # the job's ranks inherit it
    assert accelerator() == Accelerator(precision="bf16")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_training_learns_in_its_dtype_and_resumes_bit_identically(tmp_path, monkeypatch, precision):
    _use(monkeypatch, precision=precision)
    images, labels = _separable()
    settings = TrainSettings(epochs=3, save_epochs=[3], seed=0, batch_size=32, lr=0.05)
    model = create_classifier("cnn", 2, 1, 8, seed=0, width=8)
    seen = set()
    hook = model.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    history, ref = fit(model, images, labels, settings, tmp_path / "ref")
    hook.remove()
    assert seen == {torch.bfloat16 if precision == "bf16" else torch.float16}  # the forward pass ran in it
    assert history[-1]["train_accuracy"] > 0.95
    state = load_tensors(tmp_path / "ref" / "state.safetensors")[1]
    assert ("scaler" in json.dumps(state)) == (precision == "fp16")  # fp16's loss scale is resumed with the rest

    with killed_after_epoch(2):
        fit(create_classifier("cnn", 2, 1, 8, seed=0, width=8), images, labels, settings, tmp_path / "run")
    _, resumed = fit(create_classifier("cnn", 2, 1, 8, seed=0, width=8), images, labels, settings, tmp_path / "run")
    a, b = load_tensors(ref[3])[0], load_tensors(resumed[3])[0]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.long
@pytest.mark.parametrize("settings", [{"channels_last": True}, {"compile": True}])
def test_channels_last_and_compile_train_the_eager_runs_weights(tmp_path, monkeypatch, settings):
    """The same run within float tolerance: a layout or a compiled graph changes summation order only.
    200 images in batches of 40 (no short last batch for compile to recompile on); the small cnn (convolutions,
    batch norm, pooling), whose graph inductor compiles in a fraction of resnet8's time."""
    images, labels = _separable()
    train = TrainSettings(epochs=2, save_epochs=[2], seed=0, batch_size=40, lr=0.05)
    _, eager = fit(create_classifier("cnn", 2, 1, 8, seed=0, width=8), images, labels, train, tmp_path / "eager")
    _use(monkeypatch, **settings)
    if settings.get("compile"):  # inductor compiles in this process: no pool of workers that import torch again
        from torch._inductor import config as inductor

        monkeypatch.setattr(inductor, "compile_threads", 1)
    model = create_classifier("cnn", 2, 1, 8, seed=0, width=8)
    _, other = fit(model, images, labels, train, tmp_path / "other")
    if settings.get("channels_last"):
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    a, b = load_tensors(eager[2])[0], load_tensors(other[2])[0]
    assert a.keys() == b.keys()  # a compiled run saves the module's own names, not the wrapper's
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-3, atol=1e-4)


def test_batched_members_train_with_loss_scaling(tmp_path, monkeypatch):
    _use(monkeypatch, precision="fp16")
    images, labels = _separable()
    settings = [TrainSettings(epochs=3, save_epochs=[3], seed=s, batch_size=32, lr=0.05) for s in (0, 1)]
    models = [create_classifier("cnn", 2, 1, 8, seed=s, width=8) for s in (0, 1)]
    histories, _ = fit_batched(models, images, labels, settings, tmp_path)
    assert all(h[-1]["train_accuracy"] > 0.95 for h in histories)
    assert "scaler" in json.dumps(load_tensors(tmp_path / "state.safetensors")[1])


def test_inference_at_reduced_precision_stays_near_float32(monkeypatch):
    """Prediction and sampling follow the job's precision; bf16 keeps about 3 significant digits."""
    images, _ = _separable(64)
    model = create_classifier("resnet8", 2, 1, 8, seed=0).eval()
    generator = create_generator("wgan_gp", 2, 1, 8).eval()
    full = predict_logits(model, images), sample_images(generator, np.arange(16) % 2, seed=3)
    _use(monkeypatch, precision="bf16")
    half = predict_logits(model, images), sample_images(generator, np.arange(16) % 2, seed=3)
    assert not np.array_equal(full[0], half[0])  # it did run in bf16
    np.testing.assert_allclose(half[0], full[0], rtol=0.05, atol=0.05)
    assert np.abs(half[1].astype(int) - full[1].astype(int)).max() <= 8  # uint8 pixels, a few levels apart
