"""Datasets, deterministic splits and Parquet shard I/O."""

from synthval.data.datasets import DatasetNotFoundError, ImageArray, load_dataset
from synthval.data.images import ImageSet
from synthval.data.shards import (
    derived_fields,
    read_image_set,
    read_manifest,
    read_shard,
    read_shard_metadata,
    write_manifest,
    write_shard,
    write_sharded,
)
from synthval.data.splits import make_splits

__all__ = [
    "DatasetNotFoundError",
    "ImageArray",
    "ImageSet",
    "derived_fields",
    "load_dataset",
    "make_splits",
    "read_image_set",
    "read_manifest",
    "read_shard",
    "read_shard_metadata",
    "write_manifest",
    "write_shard",
    "write_sharded",
]
