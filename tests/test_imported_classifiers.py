"""Classifiers trained elsewhere (zoo.imported): built, loaded and checked, or stopped with the member named."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from synthval.classifiers import create_classifier
from synthval.classifiers.imported import import_classifier
from synthval.config import ConfigError, validate_config
from synthval.evaluation.predict import predict
from synthval.plan.study import Study

ENTRY = {"architecture": "mlp", "mean": [0.5], "std": [0.25]}


def test_an_imported_network_predicts_as_it_did_where_it_was_trained(tmp_path):
    net = create_classifier("mlp", 10, 1, 8, seed=3)
    save_file(net.body.state_dict(), tmp_path / "w.safetensors")
    model = import_classifier("theirs", {**ENTRY, "weights": str(tmp_path / "w.safetensors")}, 10, (8, 8, 1))
    x = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 1), dtype=np.uint8)
    expected = net.body((torch.as_tensor(x).permute(0, 3, 1, 2).float() / 255 - 0.5) / 0.25).argmax(1)
    assert predict(model, x)[0].tolist() == expected.tolist()


def test_weights_that_do_not_fit_stop_with_the_member_named(tmp_path):
    save_file(create_classifier("mlp", 5, 1, 8).body.state_dict(), tmp_path / "five.safetensors")
    with pytest.raises(ValueError, match=r"imported classifier 'theirs' .* do not fit mlp"):
        import_classifier("theirs", {**ENTRY, "weights": str(tmp_path / "five.safetensors")}, 10, (8, 8, 1))
    with pytest.raises(FileNotFoundError, match=r"'theirs'.*no weights file"):
        import_classifier("theirs", {**ENTRY, "weights": str(tmp_path / "none.safetensors")}, 10, (8, 8, 1))
    (tmp_path / "bad.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        import_classifier("theirs", {**ENTRY, "weights": str(tmp_path / "bad.safetensors")}, 10, (8, 8, 1))


def test_a_timm_network_by_name_at_its_own_input_size(tmp_path):
    timm = pytest.importorskip("timm")
    net = timm.create_model("resnet10t", pretrained=False, num_classes=10, in_chans=3)
    save_file(net.state_dict(), tmp_path / "r.safetensors")
    entry = {"architecture": "timm", "timm_model": "resnet10t", "input_size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}
    model = import_classifier("r10", {**entry, "weights": str(tmp_path / "r.safetensors")}, 10, (16, 16, 3))
    x = np.zeros((2, 16, 16, 3), np.uint8)
    assert predict(model, x)[0].shape == (2,)


def test_imported_members_join_the_zoo_as_one_member_configurations():
    zoo = {"imported": {"theirs": {**ENTRY, "weights": "w.safetensors"}}}
    study = Study.from_config(validate_config({"zoo": zoo}))
    assert study.imported_models == ["theirs-imported-s0"]
    assert "theirs-imported-s0" in study.models
    assert study.epoch_tags("theirs-imported-s0") == ["001"]
    assert [m.name for m in study.configuration_members("theirs-imported")] == ["theirs-imported-s0"]
    with pytest.raises(ConfigError, match="timm_model is needed"):
        validate_config({"zoo": {"imported": {"t": {**ENTRY, "architecture": "timm", "weights": "w"}}}})
    with pytest.raises(ConfigError, match=r"zoo\.imported\.cnn"):
        validate_config({"zoo": {"imported": {"cnn": {**ENTRY, "weights": "w"}}}})
