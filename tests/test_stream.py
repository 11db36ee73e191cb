"""Streamed image sets (synthval.data.stream): the same images as the in-memory read, every image once per
epoch whatever the split over ranks and workers, the same batches from the same seed, damage named."""

import numpy as np
import pytest

from synthval.data import read_image_set, write_sharded
from synthval.data.stream import RECORD_BATCH, ShardStream, stream_batches
from synthval.io import IntegrityError


@pytest.fixture
def manifest(tmp_path):
    """300 random 8x8 RGB images of 5 classes in 7 Parquet shards (the last one short)."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (300, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(300) % 5
    write_sharded(tmp_path / "set", [f"k{i:03d}" for i in range(300)], images, labels, 45, "unit")
    return tmp_path / "set" / "manifest.json"


def _keys(batches):
    return [k for b in batches for k in b.keys]


def test_an_unshuffled_stream_is_the_in_memory_set_batch_by_batch(manifest):
    whole = read_image_set(manifest)
    batches = list(stream_batches(ShardStream(manifest), 64))
    assert [len(b) for b in batches] == [64, 64, 64, 64, 44]
    assert _keys(batches) == whole.keys
    assert np.array_equal(np.concatenate([b.images for b in batches]), whole.images)
    assert np.array_equal(np.concatenate([b.labels for b in batches]), whole.labels)
    assert len(ShardStream(manifest)) == 300
    assert RECORD_BATCH < 300


@pytest.mark.parametrize("workers", [0, 2])
def test_ranks_and_workers_read_every_image_exactly_once(manifest, workers):
    seen = []
    for rank in range(3):
        stream = ShardStream(manifest, shuffle=True, buffer=50, seed=7, rank=rank, world=3)
        seen += _keys(stream_batches(stream, 32, workers=workers))
    assert sorted(seen) == sorted(read_image_set(manifest).keys)


def test_a_shuffled_stream_is_seeded_by_config_and_epoch(manifest):
    def epoch(seed, number, workers=0):
        stream = ShardStream(manifest, shuffle=True, buffer=100, seed=seed)
        stream.set_epoch(number)
        return _keys(stream_batches(stream, 50, workers=workers))

    first = epoch(3, 0)
    assert first == epoch(3, 0)  # the same config: the same batches
    assert epoch(3, 0, workers=2) == epoch(3, 0, workers=2)  # and with workers, for a fixed number of them
    assert first != epoch(3, 1)
    assert first != epoch(4, 0)
    assert sorted(first) == sorted(epoch(3, 1))
    # the buffer mixes within reach of its size: the first batch is not just the first shard in order
    assert first[:45] != sorted(first[:45])


def test_a_damaged_shard_is_refused_before_streaming_and_a_bad_rank_is_named(manifest):
    with pytest.raises(ValueError, match=r"rank 3 is not in 0\.\.2"):
        ShardStream(manifest, rank=3, world=3)
    shard = manifest.parent / "shard-00002.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"shard-00002\.parquet is corrupt"):
        ShardStream(manifest)
    # unverified, the page checksums still catch it, naming the shard
    with pytest.raises(IntegrityError, match="shard-00002"):
        list(stream_batches(ShardStream(manifest, verify=False), 64))


def test_auto_streams_a_split_only_when_its_decoded_images_exceed_the_limit(manifest, tmp_path):
    from synthval.data.shards import read_manifest, write_manifest
    from synthval.data.stream import image_shape, should_stream

    loading = {"stream": "auto", "stream_above_gb": 300 * 8 * 8 * 3 / 2**30}  # exactly this set's pixels
    assert not should_stream(manifest, loading)
    assert should_stream(manifest, loading | {"stream_above_gb": loading["stream_above_gb"] * 0.99})
    assert should_stream(manifest, loading | {"stream": "always"})
    assert not should_stream(manifest, loading | {"stream": "never", "stream_above_gb": 1e-9})
    # a synthetic set's manifest does not record its image shape: its first image says it
    shards = [manifest.parent / s["path"] for s in read_manifest(manifest)["shards"]]
    write_manifest(tmp_path / "bare.json", shards, source="synthetic")
    assert image_shape(tmp_path / "bare.json") == image_shape(manifest) == (8, 8, 3)


def test_a_set_streamed_once_for_many_models_gives_each_its_whole_read_predictions(manifest):
    from synthval.classifiers import create_classifier
    from synthval.evaluation.predict import predict, predict_set

    models = {seed: create_classifier("cnn", 5, 3, 8, seed=seed, width=4) for seed in (0, 1)}
    keys, labels, outcomes = predict_set(models, manifest, batch_size=64)
    whole = read_image_set(manifest)
    assert keys == whole.keys
    assert np.array_equal(labels, whole.labels)
    for seed, model in models.items():
        expected = predict(model, whole.images, batch_size=64)
        assert all(np.array_equal(a, b) for a, b in zip(outcomes[seed], expected, strict=True))


def test_a_shard_whose_columns_are_not_the_schemas_is_refused_as_the_whole_read_refuses_it(manifest, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthval.data.shards import write_manifest

    shard = manifest.parent / "shard-00000.parquet"
    table = pq.read_table(shard)
    labels = table.column("label").cast(pa.string())  # what a damaged footer can do without a checksum noticing
    pq.write_table(table.set_column(table.schema.get_field_index("label"), "label", labels), tmp_path / "bad.parquet")
    write_manifest(tmp_path / "bad.json", [tmp_path / "bad.parquet"], source="unit")
    for read in (lambda: read_image_set(tmp_path / "bad.json"), lambda: list(ShardStream(tmp_path / "bad.json"))):
        with pytest.raises(IntegrityError, match=r"bad\.parquet has columns"):
            read()


def test_a_set_decoded_where_indexed_gives_the_whole_reads_images(tmp_path, monkeypatch):
    """ManifestImages (a latent prior's real images): any positions, across shards and row groups, in any
    order and repeated, decode to the whole read's images; keys and labels without decoding."""
    from synthval.data import shards
    from synthval.data.stream import ManifestImages

    monkeypatch.setattr(shards, "ROW_GROUP", 7)  # 45-image shards of 7 row groups each
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (100, 8, 8, 3), dtype=np.uint8)
    write_sharded(tmp_path / "set", [f"k{i:03d}" for i in range(100)], images, np.arange(100) % 5, 45, "unit")
    whole, lazy = read_image_set(tmp_path / "set" / "manifest.json"), ManifestImages(tmp_path / "set" / "manifest.json")
    assert lazy.keys == whole.keys
    assert np.array_equal(lazy.labels, whole.labels)
    assert lazy.shape == whole.images.shape
    assert len(lazy.groups[0]) - 1 == 7  # 45 images in row groups of 7
    positions = np.concatenate([rng.permutation(100)[:40], [99, 0, 44, 45, 44]])
    assert np.array_equal(lazy[positions], whole.images[positions])
    assert np.array_equal(lazy[[3]], whole.images[[3]])


def test_checkpoint_scores_of_a_streamed_split_are_the_held_splits(manifest):
    """A generator's checkpoint FID (FIDScore) over a split it streams: the same real statistics."""
    from synthval.classifiers import create_classifier
    from synthval.metrics.frechet import FIDScore

    classifier = create_classifier("cnn", 5, 3, 8, seed=0, width=4)
    held = FIDScore(classifier, read_image_set(manifest).images, 20, seed=0, batch_size=64)
    streamed = FIDScore(classifier, ShardStream(manifest), 20, seed=0, batch_size=64)
    assert all(np.array_equal(a, b) for a, b in zip(held.real, streamed.real, strict=True))


def test_a_cycle_gives_the_keys_of_the_images_it_takes(manifest):
    """A streamed generator's batch can name its images (captions are looked up by key)."""
    import torch

    from synthval.data.stream import ShardCycle

    whole = read_image_set(manifest)
    cycle = ShardCycle(ShardStream(manifest), seed=0, device=torch.device("cpu"))
    images, labels, keys = cycle.take(10, with_keys=True)
    index = [whole.keys.index(k) for k in keys]
    assert np.array_equal(images.permute(0, 2, 3, 1).numpy(), whole.images[index])
    assert labels.tolist() == whole.labels[index].tolist()
    assert len(cycle.take(3)) == 2
