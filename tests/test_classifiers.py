import math
import pickle

import numpy as np
import pytest
import torch
from kills import killed_after_epoch

from synthval.classifiers import (
    TrainSettings,
    create_classifier,
    fit,
    list_classifiers,
    load_classifier,
    save_classifier,
)
from synthval.classifiers.randwire import RandWire, watts_strogatz
from synthval.classifiers.trainer import augment, make_optimizer
from synthval.data import write_sharded
from synthval.data.stream import ShardStream
from synthval.io import IntegrityError, load_tensors
from synthval.live import read_live_log
from synthval.zoo import (
    Member,
    epoch_groups,
    member_spec,
    members,
    parse_model,
    save_epochs,
    seed_suffixes,
    training_spec,
)


@pytest.mark.parametrize("name", list_classifiers())
@pytest.mark.parametrize(("size", "chans"), [(8, 1), (32, 3)])
def test_every_architecture_builds_and_classifies(name, size, chans):
    deep = {
        "resnet56",
        "resnet110",
        "preact_resnet56",
        "preact_resnet110",
        "se_preact_resnet56",
        "se_preact_resnet110",
        "wrn28_10",
        "pyramidnet110_84",
        "pyramidnet110_270",
        "shake_shake26_64d",
        "resnet50",
    }
    if name in deep and size == 32:
        pytest.skip("deep nets at 32 px are covered at 8 px; keeps the suite fast")
    # timm: any timm network by name (for zoo.imported), here fed images resized to its own input size
    hparams = {"model_name": "resnet10t", "input_size": 16} if name == "timm" else {}
    model = create_classifier(name, num_classes=7, in_chans=chans, image_size=size, **hparams).eval()
    x = torch.rand(2, chans, size, size)
    with torch.no_grad():
        logits, features = model(x), model.features(x)
    assert logits.shape == (2, 7)
    assert features.shape == (2, model.feature_dim)
    # the features are exactly what the final layer sees (they feed FID and the quality metrics)
    torch.testing.assert_close(features @ model.head.weight.T + model.head.bias, logits, atol=1e-4, rtol=1e-4)


def test_imagenet_resnet50_is_timms_layer_for_layer():
    import timm

    ours = {
        k.removeprefix("body."): v.shape for k, v in create_classifier("resnet50", 1000, 3, 224).state_dict().items()
    }
    theirs = {k: v.shape for k, v in timm.create_model("resnet50", num_classes=1000).state_dict().items()}
    assert ours.keys() - theirs.keys() == {"mean", "std"}  # the input normalisation every classifier carries
    assert all(ours[k] == shape for k, shape in theirs.items())


def test_an_unknown_hyper_parameter_names_the_accepted_ones():
    with pytest.raises(
        ValueError, match=r"architecture 'regnetx' does not take \['width'\]; its hyper-parameters are \[\]"
    ):
        create_classifier("regnetx", 10, 1, 8, width=8)
    with pytest.raises(ValueError, match=r"mobilenetv3 width must be one of"):
        create_classifier("mobilenetv3", 10, 1, 8, width=3)


def test_watts_strogatz_graphs_are_reproducible_and_distinct():
    ring = watts_strogatz(8, 2, 0.0, np.random.default_rng(0))
    assert ring == sorted([(i, i + 1) for i in range(7)] + [(0, 7)])  # p = 0: the ring lattice
    lattice = watts_strogatz(10, 4, 0.0, np.random.default_rng(0))
    assert len(lattice) == 10 * 4 // 2
    assert all(np.bincount(np.array(lattice).ravel()) == 4)
    for seed in range(20):
        edges = watts_strogatz(12, 4, 0.25, np.random.default_rng(seed))
        assert len(edges) == 12 * 4 // 2
        assert all(a < b for a, b in edges)
        assert edges == watts_strogatz(12, 4, 0.25, np.random.default_rng(seed))
    zoo = {
        "random_wired": {"count": 64, "nodes": 8, "k": 2, "p": 0.25, "width": 16},
        "architectures": [],
        "variants": {"base": {}},
        "seeds": [0],
        "train_splits": ["train"],
        "epochs": 1,
        "schedule": "cosine",
        "milestones": [0.5],
        "gamma": 0.1,
        "crop_padding": 0,
        "flip": False,
        "optimizer": "sgd",
        "lr": 0.1,
        "batch_size": 8,
        "momentum": 0.9,
        "weight_decay": 0.0,
        "label_smoothing": 0.0,
        "warmup_epochs": 0,
        "architecture_settings": {},
    }
    specs = [member_spec(zoo, m, 0) for m in members(zoo)]
    graphs = {tuple(map(tuple, RandWire(10, 1, s["hparams"]["graph_seed"], 8, 2, 0.25, 4).graphs)) for s in specs}
    assert len(specs) == 64
    assert len(graphs) == 64
    with pytest.raises(ValueError, match="even k"):
        watts_strogatz(8, 3, 0.1, np.random.default_rng(0))


def test_zoo_members_are_named_parsed_and_specified():
    zoo = {
        "architectures": ["cnn"],
        "random_wired": {"count": 2, "nodes": 6, "k": 2, "p": 0.25, "width": 8},
        "variants": {
            "base": {},
            "wide": {"width": 64, "lr": 0.2, "warmup_epochs": 1},
            "short": {"epochs": 3},
            "long": {"epochs": 9},
        },
        "architecture_settings": {"cnn": {"optimizer": "adamw", "lr": 0.002, "width": 16}},
        "save_epochs": [2, 4, 6],
        "seeds": [0, 3],
        "train_splits": ["train", "fit"],
        "epochs": 4,
        "schedule": "multistep",
        "milestones": [0.5],
        "gamma": 0.1,
        "crop_padding": 2,
        "flip": False,
        "optimizer": "sgd",
        "lr": 0.05,
        "batch_size": 32,
        "momentum": 0.9,
        "weight_decay": 5e-4,
        "label_smoothing": 0.0,
        "warmup_epochs": 0,
    }
    names = [m.name for m in members(zoo)]
    assert len(names) == 3 * 4 * 2 * 2
    assert "cnn-wide-s3-fit" in names
    assert "rwnn01-base-s0" in names
    assert all(parse_model(n).name == n for n in names)
    few = [m for m in members({**zoo, "fit_seeds": [3]}) if m.split == "fit"]
    assert len(few) == 3 * 4
    assert {m.seed for m in few} == {3}
    assert parse_model("rwnn01-base-s0") == Member("rwnn01", "base", 0, "train")
    assert parse_model("rwnn01-base-s0").family == "rwnn"
    # zoo-wide settings < the architecture's own < the variant's
    wide = member_spec(zoo, parse_model("cnn-wide-s3-fit"), 0)
    assert wide["arch"] == "cnn"
    assert wide["hparams"] == {"width": 64}
    assert wide["train"]["lr"] == 0.2
    assert wide["train"]["batch_size"] == 32
    assert wide["train"]["optimizer"] == "adamw"
    assert wide["train"]["warmup_epochs"] == 1
    base = member_spec(zoo, parse_model("cnn-base-s0"), 0)
    assert base["hparams"] == {"width": 16}
    assert base["train"]["lr"] == 0.002
    assert base["train"]["epochs"] == 4
    assert base["train"]["warmup_epochs"] == 0
    assert member_spec(zoo, parse_model("rwnn00-base-s0"), 0)["train"]["optimizer"] == "sgd"
    # a variant's epochs: its training length, the zoo's save epochs within it, and its last
    assert member_spec(zoo, parse_model("cnn-long-s0"), 0)["train"]["epochs"] == 9
    assert save_epochs(zoo, "short") == [2, 3]
    assert save_epochs(zoo, "long") == [2, 4, 6, 9]
    assert save_epochs(zoo, "base") == [2, 4]
    assert epoch_groups(zoo) == {(2, 4): ["base", "wide"], (2, 3): ["short"], (2, 4, 6, 9): ["long"]}
    rw = member_spec(zoo, parse_model("rwnn01-wide-s0"), 0)
    assert rw["arch"] == "rwnn"
    assert rw["hparams"]["width"] == 64
    assert rw["hparams"]["nodes"] == 6
    assert (
        rw["hparams"]["graph_seed"] == member_spec(zoo, parse_model("rwnn01-base-s3"), 0)["hparams"]["graph_seed"]
    )  # graph independent of the training seed
    assert rw["hparams"]["graph_seed"] != member_spec(zoo, parse_model("rwnn00-base-s0"), 0)["hparams"]["graph_seed"]
    with pytest.raises(ValueError, match="not a zoo member name"):
        parse_model("cnn-s0")
    # the reference classifier and the study's runs follow the same rule, their own epochs winning
    reference = training_spec(zoo, "cnn", 0, epochs=15)
    assert reference == {
        **base,
        "train": {**base["train"], "epochs": 15},
    }  # an AdamW architecture trains with AdamW everywhere
    assert (
        training_spec(zoo, "rwnn01", 0, epochs=2)["hparams"]
        == member_spec(zoo, parse_model("rwnn01-base-s0"), 0)["hparams"]
    )
    assert (
        [m.suffix for m in members(zoo) if m.configuration == "cnn-wide"]
        == seed_suffixes(zoo)
        == ["-s0", "-s3", "-s0-fit", "-s3-fit"]
    )


def test_learning_rate_schedules():
    cosine = TrainSettings(epochs=2, save_epochs=[2], seed=0, lr=0.1)
    assert cosine.lr_at(0, 100) == pytest.approx(0.1)
    assert cosine.lr_at(50, 100) == pytest.approx(0.05)
    assert cosine.lr_at(100, 100) == pytest.approx(0)
    steps = TrainSettings(
        epochs=2, save_epochs=[2], seed=0, lr=0.1, schedule="multistep", milestones=[0.5, 0.75], gamma=0.1
    )
    assert [steps.lr_at(s, 100) for s in (0, 49, 50, 74, 75, 99)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


@pytest.mark.parametrize("schedule", ["cosine", "multistep"])
@pytest.mark.parametrize("warmup_epochs", [0, 1.5])
def test_schedules_are_timms_step_for_step(schedule, warmup_epochs):
    """Our per-update learning rate equals timm's scheduler's at every update (timm's milestone m applies
    at index m - 1, hence the + 1), so timm recipes carry over; without warm-up it is the schedule the
    zoo always had (test_learning_rate_schedules)."""
    from timm.scheduler import CosineLRScheduler, MultiStepLRScheduler

    settings = TrainSettings(
        epochs=6,
        save_epochs=[6],
        seed=0,
        lr=0.1,
        schedule=schedule,
        milestones=[0.5, 0.77],
        warmup_epochs=warmup_epochs,
    )
    per_epoch = 7
    total = settings.epochs * per_epoch
    warmup = round(warmup_epochs * per_epoch)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=settings.lr)
    common = {"warmup_t": warmup, "warmup_lr_init": 0.0, "warmup_prefix": False, "t_in_epochs": False}
    if schedule == "cosine":
        timm = CosineLRScheduler(opt, t_initial=total, lr_min=0.0, **common)
    else:
        decay_t = [math.ceil(m * total) + 1 for m in settings.milestones]
        timm = MultiStepLRScheduler(opt, decay_t=decay_t, decay_rate=settings.gamma, **common)
    for step in range(total):
        timm.step_update(step)
        assert settings.lr_at(step, total) == opt.param_groups[0]["lr"], step


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_the_optimiser_is_timms_factory_to_the_last_bit(optimizer):
    from timm.optim import create_optimizer_v2

    settings = TrainSettings(epochs=1, save_epochs=[1], seed=0, optimizer=optimizer, lr=0.05, weight_decay=0.01)
    torch.manual_seed(0)
    ours = create_classifier("cnn", 4, 1, 8)
    theirs = create_classifier("cnn", 4, 1, 8)
    theirs.load_state_dict(ours.state_dict())
    extra = {"momentum": settings.momentum} if optimizer == "sgd" else {}
    opts = [
        make_optimizer(ours, settings),
        create_optimizer_v2(theirs, opt=optimizer, lr=settings.lr, weight_decay=settings.weight_decay, **extra),
    ]
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 4, (16,))
    for _ in range(5):
        for model, opt in zip((ours, theirs), opts, strict=True):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    for k, v in ours.state_dict().items():
        assert torch.equal(v, theirs.state_dict()[k]), k


def test_unknown_architecture_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown architecture 'nope'.*resnet20"):
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


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.05), ("adamw", 0.003)])
def test_training_learns_separable_data(tmp_path, optimizer, lr):
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    images = np.where(labels[:, None, None, None] == 1, 200, 40).astype(np.uint8) + rng.integers(
        0, 30, (200, 8, 8, 1), dtype=np.uint8
    )
    model = create_classifier("cnn", 2, 1, 8, width=8)
    settings = TrainSettings(epochs=3, save_epochs=[1, 3], seed=0, batch_size=32, optimizer=optimizer, lr=lr)
    history, snaps = fit(model, images, labels, settings, tmp_path)
    assert history[-1]["train_accuracy"] > 0.95
    assert sorted(snaps) == [1, 3]
    assert all(p.exists() for p in snaps.values())
    loaded, meta = load_classifier(snaps[3])
    assert meta["epoch"] == 3
    assert meta["seed"] == 0
    x = torch.as_tensor(images[:8]).permute(0, 3, 1, 2).float() / 255
    model.eval()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_a_streamed_split_trains_as_the_held_one_does(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    images = np.where(labels[:, None, None, None] == 1, 200, 40).astype(np.uint8) + rng.integers(
        0, 30, (200, 8, 8, 1), dtype=np.uint8
    )
    stream, _ = _streamed(tmp_path / "set", images, labels)
    settings = TrainSettings(epochs=3, save_epochs=[3], seed=0, batch_size=32, lr=0.05)
    runs = [fit(create_classifier("cnn", 2, 1, 8, seed=0, width=8), stream, None, settings, tmp_path / r) for r in "ab"]
    assert runs[0][0][-1]["train_accuracy"] > 0.95  # it learns
    assert [h["loss"] for h in runs[0][0]] == [h["loss"] for h in runs[1][0]]  # the same config: the same run
    a, b = (load_tensors(run[1][3])[0] for run in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # its input normalisation is the held split's, from one streamed pass of float64 sums
    held = create_classifier("cnn", 2, 1, 8, width=8)
    held.set_normalisation(torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255)
    torch.testing.assert_close(load_classifier(runs[0][1][3])[0].mean, held.mean)
    torch.testing.assert_close(load_classifier(runs[0][1][3])[0].std, held.std)


def _settings():
    return TrainSettings(epochs=3, save_epochs=[1, 3], seed=5, batch_size=16, lr=0.05)


def _streamed(folder, images, labels):
    """The images as a split too large to hold: Parquet shards read as a shuffled stream."""
    write_sharded(folder, [f"k{i:02d}" for i in range(len(images))], images, labels, 10, "unit")
    return ShardStream(folder / "manifest.json", shuffle=True, buffer=8, seed=5), None


# shake-shake draws its mixing coefficients from the global RNG inside the forward pass; a streamed split
# resumes too (its order is the stream's, seeded by the epoch), and so does a streamed synthetic set mixed
# into every batch (the kill falls in the middle of its second pass)
@pytest.mark.parametrize(
    ("arch", "streamed"), [("resnet8", ""), ("shake_shake26_32d", ""), ("resnet8", "real"), ("resnet8", "both")]
)
def test_killed_training_resumes_bit_identically(tmp_path, tiny_images, arch, streamed):
    images, labels = _streamed(tmp_path / "set", *tiny_images) if streamed else tiny_images
    mixed = {}
    if streamed == "both":
        mixed = {"synthetic": _streamed(tmp_path / "syn", tiny_images[0][:, ::-1], tiny_images[1])[0], "ratio": 0.6}
    torch.manual_seed(5)  # each run is a fresh process that seeds before building its model
    ref_model = create_classifier(arch, 4, 1, 8)
    _, ref = fit(ref_model, images, labels, _settings(), tmp_path / "ref", **mixed)

    torch.manual_seed(5)
    with killed_after_epoch(2):
        fit(create_classifier(arch, 4, 1, 8), images, labels, _settings(), tmp_path / "run", **mixed)
    torch.manual_seed(5)
    torch.rand(7)  # the resumed run must not depend on the global RNG position it starts from
    history, resumed = fit(create_classifier(arch, 4, 1, 8), images, labels, _settings(), tmp_path / "run", **mixed)
    # each epoch's metrics were appended as it ended, once each across the kill
    assert read_live_log(tmp_path / "run" / "history.jsonl") == history
    assert len(history) == 3
    for epoch in (1, 3):
        a, _ = load_tensors(ref[epoch])
        b, _ = load_tensors(resumed[epoch])
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (epoch, k)


def test_resume_state_of_other_settings_is_not_used(tmp_path, tiny_images):
    images, labels = tiny_images
    fit(create_classifier("mlp", 4, 1, 8), images, labels, TrainSettings(epochs=1, save_epochs=[1], seed=0), tmp_path)
    history, _ = fit(
        create_classifier("mlp", 4, 1, 8), images, labels, TrainSettings(epochs=2, save_epochs=[2], seed=0), tmp_path
    )
    assert [h["epoch"] for h in history] == [1, 2]


def test_weights_round_trip_and_pickles_are_refused(tmp_path):
    model = create_classifier("mlp", 3, 1, 8)
    save_classifier(tmp_path / "w.safetensors", model, seed=1, epoch=2)
    loaded, meta = load_classifier(tmp_path / "w.safetensors")
    assert meta["arch"] == "mlp"
    assert meta["epoch"] == 2
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
