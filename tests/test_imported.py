"""Samples made elsewhere (generator family imported): what the import checks, converts and records."""

import numpy as np
import pytest
from PIL import Image

from synthval.config import ConfigError, validate_config
from synthval.data.imported import load_imported, shard_part, source_digest
from synthval.recipes import study_generators

NAMES = ["cat", "dog", "owl"]
SHAPE = (8, 8, 1)


def npz(path, labels, size=8, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    np.savez(
        path, images=rng.integers(0, 256, (len(labels), size, size, channels), np.uint8), labels=np.asarray(labels)
    )
    return path


def test_an_npz_is_sorted_by_label_converted_to_the_data_and_recorded(tmp_path):
    path = npz(tmp_path / "s.npz", [2, 0, 1, 0, 2, 1], size=12, channels=3)
    images, labels, report = load_imported(path, NAMES, SHAPE)
    assert images.shape == (6, 8, 8, 1)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert report["per_class"] == [2, 2, 2]
    assert report["source_shape"] == [12, 12, 3]
    assert report["converted"]
    assert report["kind"] == "npz"
    assert report["sha256"] == source_digest(path)
    same = npz(tmp_path / "same.npz", [0, 1, 2], size=8, channels=1)
    assert not load_imported(same, NAMES, SHAPE)[2]["converted"]


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0, 1, 3], r"1 label\(s\) outside 0..2, e.g. \[3\]"), ([0, 0, 1], r"no image of class\(es\) \['owl'\]")],
)
def test_labels_outside_the_classes_or_a_missing_class_stop_the_import(tmp_path, labels, message):
    with pytest.raises(ValueError, match=message):
        load_imported(npz(tmp_path / "s.npz", labels), NAMES, SHAPE)


def test_an_image_folder_maps_class_names_or_indices_and_rejects_others(tmp_path):
    for folder, name in (("a", "owl"), ("a", "cat"), ("b", "1")):  # names and an index may mix
        (tmp_path / folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            Image.fromarray(np.full((10, 10, 3), 40 * i, np.uint8)).save(tmp_path / folder / name / f"{i}.png")
    images, labels, report = load_imported(tmp_path / "a", ["cat", "owl"], SHAPE)
    assert labels.tolist() == [0, 0, 1, 1]
    assert images.shape == (4, 8, 8, 1)
    assert report["kind"] == "imagefolder"
    (tmp_path / "a" / "emu").mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "a" / "emu" / "0.png")
    with pytest.raises(ValueError, match=r"sub-folder\(s\) \['emu'\] are not classes"):
        load_imported(tmp_path / "a", ["cat", "owl"], SHAPE)
    # a changed file changes the digest the manifest records
    before = source_digest(tmp_path / "b")
    Image.fromarray(np.full((10, 10, 3), 7, np.uint8)).save(tmp_path / "b" / "1" / "0.png")
    assert source_digest(tmp_path / "b") != before
    with pytest.raises(ValueError, match="neither a directory"):
        load_imported(tmp_path / "s.txt", NAMES, SHAPE)


def test_shards_take_every_image_once_and_a_share_of_every_class():
    parts = [shard_part(10, 3, i) for i in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    assert [len(p) for p in parts] == [4, 3, 3]


def test_imported_sets_validate_but_never_train():
    generators = {"theirs": {"family": "imported", "path": "samples.npz"}}
    assert validate_config({"generators": generators})["generators"]["theirs"]["path"] == "samples.npz"
    # the study's default, every generator, means every generator trained here
    both = validate_config({"generators": {**generators, "ddpm": {"family": "ddpm"}}})
    assert study_generators(both) == ["ddpm"]
    with pytest.raises(ConfigError, match="'theirs' is imported"):
        validate_config({"generators": generators, "training": {"generators": ["theirs"]}})
    with pytest.raises(ConfigError, match="path"):
        validate_config({"generators": {"theirs": {"family": "imported"}}})
