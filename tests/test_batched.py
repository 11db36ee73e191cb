"""Members of one configuration trained batched on one device end where each ends alone."""

import numpy as np
import pytest
import torch

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.classifiers.batched import fit_batched


@pytest.mark.parametrize(("arch", "hparams"), [("mlp", {}), ("cnn", {}), ("resnet8", {}), ("rwnn", {"graph_seed": 1, "nodes": 4, "width": 4})])
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
    histories = fit_batched(batched, images, labels, settings)
    for (state, history), model, batched_history in zip(alone, batched, histories, strict=True):
        for name, tensor in model.state_dict().items():
            torch.testing.assert_close(tensor, state[name], rtol=1e-5, atol=1e-5, msg=name)
        assert [h["loss"] for h in batched_history] == pytest.approx([h["loss"] for h in history], rel=1e-5)
    # the members really differ: batching did not tie their randomness together
    assert not torch.equal(next(batched[0].parameters()), next(batched[1].parameters()))


def test_batched_training_refuses_members_of_different_configurations(tiny_images):
    images, labels = tiny_images
    models = [create_classifier("mlp", 4, 1, 8, seed=s) for s in (0, 1)]
    with pytest.raises(ValueError, match="differ only in the seed"):
        fit_batched(models, images, labels, [TrainSettings(epochs=1, save_epochs=[1], seed=0),
                                             TrainSettings(epochs=1, save_epochs=[1], seed=1, lr=0.1)])
