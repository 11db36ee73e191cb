"""Members of one configuration trained batched on one device end where each ends alone."""

import pytest
import torch

from synthval.checkpoint import ResumeState
from synthval.classifiers import TrainSettings, create_classifier, fit, load_classifier
from synthval.classifiers.batched import fit_batched


@pytest.mark.parametrize(
    ("arch", "hparams"),
    [("mlp", {}), ("cnn", {}), ("resnet8", {}), ("rwnn", {"graph_seed": 1, "nodes": 4, "width": 4})],
)
def test_batched_training_gives_every_member_its_weights_alone(arch, hparams, tiny_images, tmp_path):
    images, labels = tiny_images
    seeds = [3, 4, 5]
    settings = [TrainSettings(epochs=2, save_epochs=[2], seed=s, batch_size=16) for s in seeds]
    alone = []
    for seed, s in zip(seeds, settings, strict=True):
        model = create_classifier(arch, 4, 1, 8, seed=seed, **hparams)
        history, _ = fit(model, images, labels, s, tmp_path / f"s{seed}")
        alone.append((model.state_dict(), history))
    batched = [create_classifier(arch, 4, 1, 8, seed=seed, **hparams) for seed in seeds]
    histories, snapshots = fit_batched(batched, images, labels, settings, tmp_path / "batched")
    for (state, history), model, batched_history, snapshot in zip(alone, batched, histories, snapshots, strict=True):
        for name, tensor in model.state_dict().items():
            torch.testing.assert_close(tensor, state[name], rtol=1e-5, atol=1e-5, msg=name)
        assert [h["loss"] for h in batched_history] == pytest.approx([h["loss"] for h in history], rel=1e-5)
        saved, meta = load_classifier(snapshot[2])
        assert meta["epoch"] == 2
        assert meta["seed"] == settings[batched.index(model)].seed
        for name, tensor in saved.state_dict().items():
            torch.testing.assert_close(tensor, model.state_dict()[name], msg=name)
    # the members really differ: batching did not tie their randomness together
    assert not torch.equal(next(batched[0].parameters()), next(batched[1].parameters()))


def test_batched_training_refuses_members_of_different_configurations(tiny_images, tmp_path):
    images, labels = tiny_images
    models = [create_classifier("mlp", 4, 1, 8, seed=s) for s in (0, 1)]
    with pytest.raises(ValueError, match="differ only in the seed"):
        fit_batched(
            models,
            images,
            labels,
            [
                TrainSettings(epochs=1, save_epochs=[1], seed=0),
                TrainSettings(epochs=1, save_epochs=[1], seed=1, lr=0.1),
            ],
            tmp_path,
        )


def test_batched_training_resumes_to_the_uninterrupted_weights(tiny_images, tmp_path, monkeypatch):
    images, labels = tiny_images
    settings = [TrainSettings(epochs=3, save_epochs=[1, 3], seed=s, batch_size=16) for s in (0, 1)]

    def members():
        return [create_classifier("cnn", 4, 1, 8, seed=s) for s in (0, 1)]

    whole = members()
    fit_batched(whole, images, labels, settings, tmp_path / "whole")
    # a job killed during epoch 2: the resume state holds epoch 1
    calls = {"n": 0}
    real_save = ResumeState.save

    def save_then_die(self, state):
        real_save(self, state)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(ResumeState, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        fit_batched(members(), images, labels, settings, tmp_path / "killed")
    monkeypatch.setattr(ResumeState, "save", real_save)
    resumed = members()
    histories, _ = fit_batched(resumed, images, labels, settings, tmp_path / "killed")
    assert [h["epoch"] for h in histories[0]] == [1, 2, 3]
    for a, b in zip(whole, resumed, strict=True):
        for name, tensor in a.state_dict().items():
            torch.testing.assert_close(tensor, b.state_dict()[name], rtol=0, atol=0, msg=name)
