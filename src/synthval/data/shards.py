"""Parquet image shards, and the sha256 manifests of Parquet and WebDataset shard sets.

One row per image: ``key``, ``image`` (PNG bytes in the Hugging Face ``struct<bytes, path>`` layout),
``label``, and provenance ``source``, ``generator``, ``seed``. The schema carries Hugging Face features
metadata (``Image``, and ``ClassLabel`` with the class names where the writer knows them), so
``datasets.load_dataset("parquet", data_files=...)`` gives images and named labels. A manifest lists
every shard with its row count and sha256 and is written after all shards, so its presence means the
set is complete.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synthval.data.images import ImageSet, decode_png, encode_png
from synthval.data.webdataset import count_tar_samples, read_tar_shard
from synthval.io import (
    IntegrityError,
    atomic_path,
    check_record,
    read_json,
    read_parquet,
    sha256_file,
    write_json,
    write_record,
)

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("label", pa.int64()),
        ("source", pa.string()),
        ("generator", pa.string()),
        ("seed", pa.int64()),
    ]
)


_META_KEY = b"synthval"

#: Images per Parquet row group: what a streamed read holds at once, and what reading one image costs.
ROW_GROUP = 256


def hf_features(class_names: Sequence[str] | None) -> dict:
    """The ``datasets`` features of :data:`SCHEMA`: ``label`` is a ``ClassLabel`` when the class names
    are known, else a plain integer."""
    string, int64 = {"dtype": "string", "_type": "Value"}, {"dtype": "int64", "_type": "Value"}
    label = {"names": list(class_names), "_type": "ClassLabel"} if class_names else int64
    return {
        "key": string,
        "image": {"_type": "Image"},
        "label": label,
        "source": string,
        "generator": string,
        "seed": int64,
    }


def write_shard(
    path: str | Path,
    keys: Sequence[str],
    images: np.ndarray,
    labels: np.ndarray,
    source: str,
    generator: str = "",
    seed: int = -1,
    metadata: dict | None = None,
    class_names: Sequence[str] | None = None,
    record: bool = False,
) -> None:
    """Write one shard atomically (with Parquet page checksums, which every read verifies);
    ``metadata`` (JSON) is kept in the file's key-value metadata, see :func:`read_shard_metadata`;
    ``class_names`` name the labels in the Hugging Face features. ``record`` writes ``<shard>.sha256``
    after it (:func:`synthval.io.write_record`), for a shard that another job indexes."""
    schema_metadata = {b"huggingface": json.dumps({"info": {"features": hf_features(class_names)}})}
    if metadata:
        schema_metadata[_META_KEY] = json.dumps(metadata, sort_keys=True)
    table = pa.table(
        {
            "key": list(keys),
            "image": [{"bytes": encode_png(img), "path": f"{k}.png"} for k, img in zip(keys, images, strict=True)],
            "label": np.asarray(labels, np.int64),
            "source": [source] * len(keys),
            "generator": [generator] * len(keys),
            "seed": [int(seed)] * len(keys),
        },
        schema=SCHEMA.with_metadata(schema_metadata),
    )
    with atomic_path(path) as tmp:
        # row groups of ROW_GROUP images: a stream holds one at a time, and one image is read with its group only
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True, row_group_size=ROW_GROUP)
    if record:
        write_record(path)


def read_shard_metadata(path: str | Path) -> dict:
    """The JSON ``metadata`` a shard was written with (empty if none)."""
    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[_META_KEY]) if _META_KEY in meta else {}
    except (OSError, ValueError, pa.ArrowException) as err:
        raise IntegrityError(f"shard {path} cannot be read: {err}") from err


def write_manifest(
    path: str | Path, shard_paths: Sequence[str | Path], digests: Sequence[str] | None = None, **extra: object
) -> dict:
    """Write the (sealed) manifest of ``shard_paths`` (Parquet or WebDataset tar: relative names,
    counts, sha256); call after all shards. ``digests``: their sha256 as already checked (for shards
    other jobs wrote, :func:`synthval.io.check_record`), else they are hashed here."""
    path = Path(path)
    shards: list[dict[str, Any]] = []
    if digests is None:
        digests = [sha256_file(shard) for shard in shard_paths]
    for shard, digest in zip(map(Path, shard_paths), digests, strict=True):
        try:
            count = count_tar_samples(shard) if shard.suffix == ".tar" else pq.ParquetFile(shard).metadata.num_rows
        except (OSError, pa.ArrowException, tarfile.TarError) as err:
            raise IntegrityError(f"shard {shard} cannot be read: {err}") from err
        shards.append(
            {"path": str(shard.resolve().relative_to(path.parent.resolve())), "count": count, "sha256": digest}
        )
    manifest = {**extra, "count": sum(int(s["count"]) for s in shards), "shards": shards}
    write_json(path, manifest, seal=True)
    return manifest


def read_manifest(path: str | Path) -> dict:
    """A manifest, after checking its seal (so an edited or damaged manifest is never trusted)."""
    if not Path(path).exists():
        raise IntegrityError(f"manifest not found: {path}")
    return read_json(path, sealed=True)


def write_sharded(
    folder: str | Path,
    keys: Sequence[str],
    images: np.ndarray,
    labels: np.ndarray,
    shard_size: int,
    source: str,
    class_names: Sequence[str] | None = None,
    **extra: object,
) -> dict:
    """Write an image set as ``shard-XXXXX.parquet`` files of ``shard_size`` rows, then its manifest
    (which records ``class_names``, so sets derived from it can name their labels too)."""
    folder = Path(folder)
    paths = []
    for i, start in enumerate(range(0, max(len(keys), 1), shard_size)):
        stop = start + shard_size
        paths.append(folder / f"shard-{i:05d}.parquet")
        write_shard(
            paths[-1], keys[start:stop], images[start:stop], labels[start:stop], source, class_names=class_names
        )
    if class_names:
        extra["class_names"] = list(class_names)
    return write_manifest(folder / "manifest.json", paths, None, source=source, **extra)


def derived_fields(manifest: dict) -> dict:
    """What a set derived from a split (augmented, shifted, a pool half) keeps of the split's manifest,
    as keyword arguments of :func:`write_sharded`."""
    fields = {k: manifest[k] for k in ("source", "trainset", "num_classes", "image_shape")}
    return fields | {"class_names": manifest.get("class_names")}


def manifest_shards(manifest_path: str | Path, verify: bool) -> Iterator[tuple[Path, dict]]:
    """The non-empty shards a manifest lists, each after checking it exists and (``verify``) its sha256."""
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    # a synthetic shard has its own job (which makes the manifest again after it); a split's shards and
    # manifest are written by one job, which runs again once the manifest is gone
    synthetic = manifest.get("source") == "synthetic"
    remedy = "delete it and rerun" if synthetic else "delete the manifest and rerun"
    for entry in manifest["shards"]:
        shard = manifest_path.parent / entry["path"]
        if not shard.exists():
            raise IntegrityError(
                f"shard {shard} listed in {manifest_path} is missing; {'rerun' if synthetic else remedy}"
            )
        if verify and (digest := sha256_file(shard)) != entry["sha256"]:
            raise IntegrityError(
                f"shard {shard} is corrupt: sha256 {digest[:12]}... does not match the "
                f"{entry['sha256'][:12]}... in {manifest_path}; {remedy}"
            )
        if entry["count"] == 0:  # more shards than images leaves some empty; nothing to decode
            continue
        yield shard, entry


def read_image_set(manifest_path: str | Path, verify: bool = True) -> ImageSet:
    """Decode every shard a manifest lists, after checking each one's sha256 and row count."""
    keys: list[str] = []
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for shard, entry in manifest_shards(manifest_path, verify):
        part = read_shard(shard)
        if len(part) != entry["count"]:
            raise IntegrityError(f"shard {shard} has {len(part)} rows, manifest says {entry['count']}")
        keys.extend(part.keys)
        images.append(part.images)
        labels.append(part.labels)
    if not images:
        raise IntegrityError(f"{manifest_path} lists no images")
    return ImageSet(keys, np.concatenate(images), np.concatenate(labels).astype(np.int64))


def read_keys(manifest_path: str | Path, verify: bool = True) -> list[str]:
    """The image keys of a Parquet image set, in :func:`read_image_set`'s order, without decoding an image."""
    keys: list[str] = []
    for shard, _ in manifest_shards(manifest_path, verify):
        keys.extend(_read_columns(shard, ["key"]).column("key").to_pylist())
    return keys


def check_columns(shard: str | Path, schema: pa.Schema, columns: list[str]) -> None:
    """Refuse a Parquet shard whose ``columns`` are not :data:`SCHEMA`'s (a damaged footer can turn the
    string keys into bytes, or the labels into another type, without any checksum noticing)."""
    if missing := [c for c in columns if c not in schema.names]:
        raise IntegrityError(f"shard {shard} lacks the column(s) {missing}")
    found = pa.schema([schema.field(c) for c in columns]).remove_metadata()
    expected = pa.schema([SCHEMA.field(c) for c in columns])
    if not found.equals(expected):
        raise IntegrityError(f"shard {shard} has columns {found}, not {expected}")


def _read_columns(shard: Path, columns: list[str]) -> pa.Table:
    """``columns`` of a Parquet shard, checked against :data:`SCHEMA` (:func:`check_columns`)."""
    table = read_parquet(shard, columns=columns)
    check_columns(shard, table.schema, columns)
    return table


def read_shard(shard: str | Path, recorded: bool = False) -> ImageSet:
    """Decode one shard (Parquet, page checksums verified, or WebDataset tar); a row that does not decode
    raises :class:`IntegrityError` naming the shard and the row's key. ``recorded``: first check the
    shard against its producer's record (:func:`synthval.io.check_record`)."""
    shard = Path(shard)
    if recorded:
        check_record(shard)
    if shard.suffix == ".tar":
        return read_tar_shard(shard)
    table = _read_columns(shard, ["key", "image", "label"])
    keys = table.column("key").to_pylist()
    images = [
        decode_png(blob["bytes"], shard, key) for key, blob in zip(keys, table.column("image").to_pylist(), strict=True)
    ]
    stacked = np.stack(images) if images else np.zeros((0, 0, 0, 0), np.uint8)
    return ImageSet(keys, stacked, table.column("label").to_numpy().astype(np.int64))
