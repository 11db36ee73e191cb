import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from synthval.config import data_problems, validate_config
from synthval.data import DatasetNotFoundError, load_dataset, make_splits, read_image_set, write_sharded
from synthval.data.augment import augment_images, augmented_set
from synthval.data.datasets import read_source, resize_images
from synthval.data.images import ImageSet, decode_png, encode_png
from synthval.io import IntegrityError


def test_splits_are_deterministic_disjoint_and_nested():
    a = make_splits(1000, {"small": 100, "big": 600}, 0.25, seed=3)
    b = make_splits(1000, {"small": 100, "big": 600}, 0.25, seed=3)
    for name in a:
        for split in a[name]:
            np.testing.assert_array_equal(a[name][split], b[name][split])
    for name, size in {"small": 100, "big": 600}.items():
        s = a[name]
        assert len(s["train"]) == size
        assert len(s["test"]) == 1000 - size
        assert not set(s["train"]) & set(s["test"])
        assert set(s["fit"]) | set(s["val"]) == set(s["train"])
        assert not set(s["fit"]) & set(s["val"])
        assert len(s["val"]) == round(size * 0.25)
    assert set(a["small"]["train"]) <= set(a["big"]["train"])
    other = make_splits(1000, {"small": 100}, 0.25, seed=4)
    assert not np.array_equal(other["small"]["train"], a["small"]["train"])


@pytest.mark.parametrize("size", [0, -1, 1000, 5000])
def test_split_sizes_outside_the_pool_are_refused(size):
    with pytest.raises(ValueError, match="bad"):
        make_splits(1000, {"bad": size}, 0.25, seed=0)


def test_digits_pool_is_real_and_resized():
    pool = load_dataset("digits", ".", 16)
    assert pool.images.shape == (1797, 16, 16, 1)
    assert pool.images.dtype == np.uint8
    assert sorted(set(pool.labels.tolist())) == list(range(10))
    assert pool.images.max() == 255
    assert pool.images.min() == 0


def test_png_round_trip_is_lossless(tiny_images):
    images, _ = tiny_images
    for img in images[:3]:
        np.testing.assert_array_equal(decode_png(encode_png(img)), img)


def test_shards_round_trip_with_manifest(tmp_path, tiny_images):
    images, labels = tiny_images
    keys = [f"k{i}" for i in range(len(labels))]
    manifest = write_sharded(tmp_path, keys, images, labels, shard_size=15, source="unit")
    assert [s["count"] for s in manifest["shards"]] == [15, 15, 10]
    assert manifest["count"] == 40
    back = read_image_set(tmp_path / "manifest.json")
    assert back.keys == keys
    np.testing.assert_array_equal(back.images, images)
    np.testing.assert_array_equal(back.labels, labels)
    table = pq.read_table(tmp_path / "shard-00000.parquet")
    assert table.schema.field("image").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def test_flipped_byte_and_truncation_name_the_shard(tmp_path, tiny_images):
    images, labels = tiny_images
    write_sharded(tmp_path, [f"k{i}" for i in range(40)], images, labels, shard_size=20, source="unit")
    shard = tmp_path / "shard-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"shard-00001\.parquet is corrupt"):
        read_image_set(tmp_path / "manifest.json")
    shard.write_bytes(bytes(data[:100]))
    with pytest.raises(IntegrityError, match=r"shard-00001\.parquet"):
        read_image_set(tmp_path / "manifest.json")
    shard.unlink()
    with pytest.raises(IntegrityError, match=r"shard-00001\.parquet .* is missing"):
        read_image_set(tmp_path / "manifest.json")


def _write_cifar_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist()}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return batch


def test_cifar_format_batch_files_are_read(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    first = _write_cifar_batch(base / "data_batch_1", 12, 0)
    _write_cifar_batch(base / "test_batch", 5, 1)
    pool = load_dataset("cifar10", tmp_path, 32)
    assert pool.images.shape == (17, 32, 32, 3)
    np.testing.assert_array_equal(pool.images[0], first[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0))
    assert pool.labels[:12].tolist() == first[b"labels"]


def test_missing_cifar_says_where_to_put_it(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"cifar-10-batches-py.*data.download: true"):
        load_dataset("cifar10", tmp_path, 32)


class _Evil:
    def __reduce__(self):
        return (open, ("/tmp/synthval-pwned", "w"))


def test_malicious_cifar_pickle_is_refused(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    (base / "data_batch_1").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_dataset("cifar10", tmp_path, 32)


def test_imagefolder_and_parquet_sources(tmp_path, tiny_images):
    images, labels = tiny_images
    for i, (img, label) in enumerate(zip(images[:8], labels[:8], strict=True)):
        folder = tmp_path / "folder" / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[..., 0]).save(folder / f"{i}.png")
    pool = load_dataset("imagefolder", tmp_path / "folder", 8, channels=1)
    assert pool.images.shape == (8, 8, 8, 1)
    assert pool.class_names == [f"class{c}" for c in range(4)]
    decoded = pool.images[:]  # an image folder is decoded when sliced: a pool of any size fits
    np.testing.assert_array_equal(np.sort(decoded.reshape(8, -1), axis=0), np.sort(images[:8].reshape(8, -1), axis=0))
    np.testing.assert_array_equal(pool.images[np.array([5, 2])][:], decoded[[5, 2]])  # a selection, in its order
    whole = read_source("imagefolder", tmp_path / "folder")  # the same pixels as a whole read, resized
    np.testing.assert_array_equal(decoded, resize_images(whole.images, 8, 1))
    table = pa.table({"image": [{"bytes": encode_png(im), "path": None} for im in images], "label": labels})
    pq.write_table(table, tmp_path / "table.parquet")
    pool = load_dataset("parquet", tmp_path / "table.parquet", 8, channels=1)
    np.testing.assert_array_equal(pool.images, images)
    np.testing.assert_array_equal(pool.labels, labels)


def _folder(root, classes, per_class=2, size=8, mode="L"):
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 10 * int(name) if name.isdecimal() else 0
            Image.new(mode, (size, size), value if mode == "L" else (value, 0, 0)).save(root / name / f"{i}.png")
    return root


def test_class_folders_take_labels_that_cannot_shift(tmp_path):
    """Numeric class folders sort as numbers (2 before 10); the order is the pool's class_names, which
    the shards record; an empty class folder or a count other than data.num_classes is refused by name,
    at plan time (data_problems) and when the pool is read."""
    root = _folder(tmp_path / "pool", [str(c) for c in range(12)])
    pool = load_dataset("imagefolder", root, 8)
    assert pool.class_names == [str(c) for c in range(12)]
    assert pool.images.shape[-1] == 1  # channels null: the folder's own (grey)
    decoded = pool.images[:]
    for label in range(12):  # every image's label is its folder's number: pixel value 10 x label
        assert set(decoded[pool.labels == label].ravel().tolist()) == {10 * label}
    config = validate_config({"data": {"source": "imagefolder", "root": str(root), "train_sizes": {"t": 20}}})
    assert config["data"]["num_classes"] == 12  # counted from the folders
    assert data_problems(config) == []
    (root / "12").mkdir()
    (root / "12" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"class folder\(s\) 12 hold no images"):
        load_dataset("imagefolder", root, 8)
    assert data_problems(config)[0] == "config key data.num_classes: 12, but " + str(root) + (
        " has 13 class folders (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...)"
    )
    config["data"]["num_classes"] = None
    validate_config(config)
    assert data_problems(config) == [f"config key data.root: class folder(s) 12 of {root} hold no images"]
    with pytest.raises(ValueError, match=r"has 13 class folders but data\.num_classes is 12"):
        load_dataset("imagefolder", root, 8, num_classes=12)
    config["data"]["train_sizes"] = {"t": 30}
    (root / "12" / "notes.txt").unlink()
    (root / "12").rmdir()
    config["data"]["num_classes"] = None
    validate_config(config)
    assert data_problems(config) == [f"config key data.train_sizes.t: 30 leaves no test images ({root} has 24)"]
    (root / "12").mkdir()
    (root / "12" / "0.png").write_bytes(b"not a png")  # the first image of each class is opened at plan time
    config["data"]["num_classes"] = None
    validate_config(config)
    assert data_problems(config)[0].startswith(f"config key data.root: {root / '12' / '0.png'} is not an image PIL")
    config["data"]["root"] = str(tmp_path / "nowhere")
    assert data_problems(config) == [
        f"config key data.root: no image folder at {tmp_path / 'nowhere'} (source imagefolder reads "
        "root/<class>/<image>)"
    ]


def test_an_image_folders_conversions_and_skipped_files_are_counted(tmp_path):
    root = _folder(tmp_path / "pool", ["a", "b"], size=8)
    _folder(root, ["b"], per_class=1, size=12, mode="RGB")  # b/0.png becomes a 12x12 RGB image
    Image.new("L", (8, 6)).save(root / "a" / "wide.png")
    (root / "a" / "readme.md").write_text("skipped")
    pool = load_dataset("imagefolder", root, 8)
    assert pool.images.shape == (5, 8, 8, 3)  # one RGB image among grey ones: the folder is RGB
    pool.images[:]
    assert pool.images.skipped == [root / "a" / "readme.md"]
    assert dict(pool.images.changes) == {"converted from L": 4, "resized": 2, "not_square": 1}
    assert load_dataset("imagefolder", root, 8, channels=1).images[:].shape == (5, 8, 8, 1)


@pytest.mark.parametrize("class_names", [None, ["zero", "one", "two", "three"]])
def test_shards_carry_hugging_face_features(tmp_path, tiny_images, class_names, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    images, labels = tiny_images
    labels = labels % 4
    manifest = write_sharded(tmp_path, [f"k{i}" for i in range(40)], images, labels, 15, "unit", class_names)
    assert manifest.get("class_names") == class_names
    hf = datasets.Dataset.from_parquet(str(tmp_path / "shard-00000.parquet"), cache_dir=str(tmp_path / "cache"))
    label = hf.features["label"]
    if class_names:
        assert label.names == class_names
        assert hf.features["label"].int2str(hf[3]["label"]) == class_names[labels[3]]
    else:
        assert label == datasets.Value("int64")
    assert isinstance(hf.features["image"], datasets.Image)
    np.testing.assert_array_equal(np.asarray(hf[0]["image"])[..., None], images[0])


def test_webdataset_shards_are_deterministic_and_verified(tmp_path, tiny_images):
    from synthval.data import write_manifest
    from synthval.data.webdataset import write_tar_shard

    images, labels = tiny_images
    keys = [f"k{i:03d}" for i in range(len(labels))]
    write_tar_shard(tmp_path / "a.tar", keys, images, labels, {"generator": "g"})
    write_tar_shard(tmp_path / "b.tar", keys, images, labels, {"generator": "g"})
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    manifest = write_manifest(tmp_path / "manifest.json", [tmp_path / "a.tar"])
    assert manifest["count"] == 40
    back = read_image_set(tmp_path / "manifest.json")
    assert back.keys == keys
    np.testing.assert_array_equal(back.images, images)
    np.testing.assert_array_equal(back.labels, labels)
    data = bytearray((tmp_path / "a.tar").read_bytes())
    data[700] ^= 0x01
    (tmp_path / "a.tar").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"a\.tar is corrupt"):
        read_image_set(tmp_path / "manifest.json")
    with pytest.raises(ValueError, match="may not contain"):
        write_tar_shard(tmp_path / "c.tar", ["a.b"], images[:1], labels[:1], {})


NO_CHANGE = {"rotation": 0, "scale": 0, "shift": 0, "brightness": 0, "contrast": 0, "flip": False}


def test_augmentation_without_changes_is_the_identity():
    images = np.random.default_rng(0).integers(0, 256, (20, 12, 12, 3), dtype=np.uint8)
    assert np.array_equal(augment_images(images, NO_CHANGE, seed=1), images)


def test_augmentation_flips_half_the_images_exactly():
    images = np.random.default_rng(1).integers(0, 256, (200, 8, 8, 1), dtype=np.uint8)
    out = augment_images(images, {**NO_CHANGE, "flip": True}, seed=3)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=True)])
    unchanged = np.array([np.array_equal(o, i) for o, i in zip(out, images, strict=True)])
    assert (mirrored | unchanged).all()
    assert 70 < mirrored.sum() < 130


def test_augmentation_shift_of_one_pixel_moves_the_image():
    # a 1/8 shift of an 8-pixel image is one pixel; with scale/rotation off, the content moves by 0 or 1
    # pixel (rounded bilinear), and the photometric terms follow numpy's formula
    images = np.zeros((50, 8, 8, 1), np.uint8)
    images[:, 3:5, 3:5] = 200
    out = augment_images(images, {**NO_CHANGE, "shift": 1 / 8}, seed=0)
    assert (out.reshape(50, -1).sum(1) > 0).all()
    assert not np.array_equal(out, images)
    bright = augment_images(images, {**NO_CHANGE, "brightness": 0.5}, seed=0).astype(float)
    factor = bright.max(axis=(1, 2, 3)) / 200
    assert ((factor > 0.49) & (factor < 1.51)).all()
    assert np.allclose(bright, np.round(np.clip(images * factor[:, None, None, None], 0, 255)), atol=1)


def test_augmented_set_is_seeded_and_keys_every_copy():
    images = np.random.default_rng(2).integers(0, 256, (10, 8, 8, 1), dtype=np.uint8)
    base = ImageSet([f"k{i}" for i in range(10)], images, np.arange(10))
    one = augmented_set(base, {"copies": 1}, seed=5)
    two = augmented_set(base, {"copies": 2}, seed=5)
    assert two.keys[:10] == one.keys
    assert two.keys[10] == "k0-aug1"
    assert np.array_equal(two.labels, np.tile(np.arange(10), 2))
    assert np.array_equal(two.images[:10], one.images)  # adding copies keeps the earlier ones
    assert np.array_equal(augmented_set(base, {"copies": 1}, seed=5).images, one.images)
    assert not np.array_equal(augmented_set(base, {"copies": 1}, seed=6).images, one.images)
    assert not np.array_equal(one.images, images)
