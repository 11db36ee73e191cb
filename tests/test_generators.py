import numpy as np
import pytest
import torch

from synthval.generators import create_generator, load_generator, sample_images, save_generator, train_generator
from synthval.generators.synthesis import shard_labels


@pytest.mark.parametrize(("classes", "per_class", "shards"), [(10, 7, 3), (4, 5, 4), (3, 1, 5)])
def test_shard_labels_cover_the_balanced_set_exactly(classes, per_class, shards):
    parts = [shard_labels(classes, per_class, shards, i) for i in range(shards)]
    assert np.bincount(np.concatenate(parts), minlength=classes).tolist() == [per_class] * classes
    for part in parts:
        if len(part):
            counts = np.bincount(part, minlength=classes)
            assert counts.max() - counts.min() <= 1


def test_wgan_gp_trains_samples_deterministically_and_round_trips(tmp_path, tiny_images):
    images, labels = tiny_images
    model = create_generator("wgan_gp", 4, 1, 8, width=4, latent_dim=8)
    record = train_generator(model, images, labels, iterations=3, batch_size=8, seed=0, resume_path=tmp_path / "state.safetensors", n_critic=2, checkpoint_every=2)
    assert record["chosen_step"] == 3 and record["history"][-1]["step"] == 3
    assert not (tmp_path / "state.safetensors").exists()  # cleared once training finished
    y = np.array([0, 1, 2, 3, 0, 1])
    a, b, c = sample_images(model, y, seed=1), sample_images(model, y, seed=1), sample_images(model, y, seed=2)
    assert a.shape == (6, 8, 8, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    save_generator(tmp_path / "g.safetensors", model, record)
    np.testing.assert_array_equal(sample_images(load_generator(tmp_path / "g.safetensors"), y, seed=1), a)


def test_generator_resumes_from_its_saved_state(tmp_path, tiny_images, monkeypatch):
    images, labels = tiny_images
    kwargs = dict(iterations=4, batch_size=8, seed=0, n_critic=1, checkpoint_every=2)
    torch.manual_seed(0)
    ref = create_generator("wgan_gp", 4, 1, 8, width=4, latent_dim=8)
    train_generator(ref, images, labels, resume_path=tmp_path / "ref.safetensors", **kwargs)

    import synthval.generators.wgan_gp as wgan

    class Killed(RuntimeError):
        pass

    real_save = wgan.ResumeState.save

    def save_then_die(self, state):
        real_save(self, state)
        raise Killed

    monkeypatch.setattr(wgan.ResumeState, "save", save_then_die)
    torch.manual_seed(0)  # each run is a fresh process that seeds before building its model
    with pytest.raises(Killed):
        train_generator(create_generator("wgan_gp", 4, 1, 8, width=4, latent_dim=8), images, labels, resume_path=tmp_path / "run.safetensors", **kwargs)
    monkeypatch.setattr(wgan.ResumeState, "save", real_save)
    torch.manual_seed(1)  # the resumed run takes its weights and RNG state from the saved state
    resumed = create_generator("wgan_gp", 4, 1, 8, width=4, latent_dim=8)
    record = train_generator(resumed, images, labels, resume_path=tmp_path / "run.safetensors", **kwargs)
    assert [h["step"] for h in record["history"]] == [4]
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_image_size_must_suit_the_generator():
    with pytest.raises(ValueError, match="divisible by 4"):
        create_generator("wgan_gp", 10, 1, 10)
