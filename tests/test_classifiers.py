import pickle

import numpy as np
import pytest
import torch

import synthval.classifiers.trainer as trainer
from synthval.classifiers import TrainSettings, create_classifier, fit, list_classifiers, load_classifier, save_classifier
from synthval.classifiers.trainer import augment
from synthval.io import IntegrityError, load_tensors


@pytest.mark.parametrize("name", list_classifiers())
@pytest.mark.parametrize(("size", "chans"), [(8, 1), (32, 3)])
def test_every_architecture_builds_and_classifies(name, size, chans):
    if name in {"resnet56", "resnet110"} and size == 32:
        pytest.skip("deep nets at 32 px are covered at 8 px; keeps the suite fast")
    model = create_classifier(name, num_classes=7, in_chans=chans, image_size=size).eval()
    assert model(torch.rand(2, chans, size, size)).shape == (2, 7)


def test_unknown_architecture_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown architecture 'nope'.*resnet20"):
        create_classifier("nope", 10, 1, 8)


def test_crop_augmentation_shifts_whole_images():
    gen = torch.Generator().manual_seed(0)
    batch = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).reshape(2, 1, 6, 6)
    assert torch.equal(augment(batch, 0, False, gen), batch)
    out = augment(batch, 2, False, gen)
    padded = torch.nn.functional.pad(batch, (2,) * 4)
    for i in range(2):  # every output is some 6x6 window of its own padded image
        windows = [padded[i, :, y : y + 6, x : x + 6] for y in range(5) for x in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)
    flipped = augment(batch, 0, True, torch.Generator().manual_seed(1))
    for i in range(2):
        assert torch.equal(flipped[i], batch[i]) or torch.equal(flipped[i], batch[i].flip(2))


def test_training_learns_separable_data(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    images = np.where(labels[:, None, None, None] == 1, 200, 40).astype(np.uint8) + rng.integers(0, 30, (200, 8, 8, 1), dtype=np.uint8)
    model = create_classifier("cnn", 2, 1, 8, width=8)
    history, snaps = fit(model, images, labels, TrainSettings(epochs=3, save_epochs=[1, 3], seed=0, batch_size=32, lr=0.05), tmp_path)
    assert history[-1]["train_accuracy"] > 0.95
    assert sorted(snaps) == [1, 3] and all(p.exists() for p in snaps.values())
    loaded, meta = load_classifier(snaps[3])
    assert meta["epoch"] == 3 and meta["seed"] == 0
    x = torch.as_tensor(images[:8]).permute(0, 3, 1, 2).float() / 255
    model.eval()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def _settings():
    return TrainSettings(epochs=3, save_epochs=[1, 3], seed=5, batch_size=16, lr=0.05)


def test_killed_training_resumes_bit_identically(tmp_path, tiny_images, monkeypatch):
    images, labels = tiny_images
    torch.manual_seed(5)  # each run is a fresh process that seeds before building its model
    ref_model = create_classifier("resnet8", 4, 1, 8)
    _, ref = fit(ref_model, images, labels, _settings(), tmp_path / "ref")

    class Killed(RuntimeError):
        pass

    real_update = trainer.Progress.update

    def die_after_epoch_2(self, done, extra=""):
        real_update(self, done, extra)
        if done == 2:
            raise Killed

    torch.manual_seed(5)
    monkeypatch.setattr(trainer.Progress, "update", die_after_epoch_2)
    with pytest.raises(Killed):
        fit(create_classifier("resnet8", 4, 1, 8), images, labels, _settings(), tmp_path / "run")
    monkeypatch.setattr(trainer.Progress, "update", real_update)
    torch.manual_seed(5)
    torch.rand(7)  # the resumed run must not depend on the global RNG position it starts from
    _, resumed = fit(create_classifier("resnet8", 4, 1, 8), images, labels, _settings(), tmp_path / "run")
    for epoch in (1, 3):
        a, _ = load_tensors(ref[epoch])
        b, _ = load_tensors(resumed[epoch])
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (epoch, k)


def test_resume_state_of_other_settings_is_not_used(tmp_path, tiny_images):
    images, labels = tiny_images
    fit(create_classifier("mlp", 4, 1, 8), images, labels, TrainSettings(epochs=1, save_epochs=[1], seed=0), tmp_path)
    history, _ = fit(create_classifier("mlp", 4, 1, 8), images, labels, TrainSettings(epochs=2, save_epochs=[2], seed=0), tmp_path)
    assert [h["epoch"] for h in history] == [1, 2]


def test_weights_round_trip_and_pickles_are_refused(tmp_path):
    model = create_classifier("mlp", 3, 1, 8)
    save_classifier(tmp_path / "w.safetensors", model, seed=1, epoch=2)
    loaded, meta = load_classifier(tmp_path / "w.safetensors")
    assert meta["arch"] == "mlp" and meta["epoch"] == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    evil = tmp_path / "evil.safetensors"
    marker = tmp_path / "pwned"
    evil.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(IntegrityError, match="not a valid safetensors file"):
        load_classifier(evil)
    assert not marker.exists()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))
