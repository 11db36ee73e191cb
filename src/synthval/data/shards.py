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
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synthval.data.images import ImageSet, decode_png, encode_png
from synthval.data.webdataset import count_tar_samples, read_tar_shard
from synthval.io import IntegrityError, atomic_path, read_json, sha256_file, write_json

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
) -> None:
    """Write one shard atomically (with Parquet page checksums, so a flipped byte is detected);
    ``metadata`` (JSON) is kept in the file's key-value metadata, see :func:`read_shard_metadata`;
    ``class_names`` name the labels in the Hugging Face features."""
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
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)


def read_shard_metadata(path: str | Path) -> dict:
    """The JSON ``metadata`` a shard was written with (empty if none)."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[_META_KEY]) if _META_KEY in meta else {}


def write_manifest(path: str | Path, shard_paths: Sequence[str | Path], **extra: object) -> dict:
    """Write the manifest of ``shard_paths`` (Parquet or WebDataset tar: relative names, counts,
    sha256); call after all shards."""
    path = Path(path)
    shards = []
    for shard in map(Path, shard_paths):
        count = count_tar_samples(shard) if shard.suffix == ".tar" else pq.ParquetFile(shard).metadata.num_rows
        shards.append(
            {
                "path": str(shard.resolve().relative_to(path.parent.resolve())),
                "count": count,
                "sha256": sha256_file(shard),
            }
        )
    manifest = {**extra, "count": sum(s["count"] for s in shards), "shards": shards}
    write_json(path, manifest)
    return manifest


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
    return write_manifest(folder / "manifest.json", paths, source=source, **extra)


def derived_fields(manifest: dict) -> dict:
    """What a set derived from a split (augmented, shifted, a pool half) keeps of the split's manifest,
    as keyword arguments of :func:`write_sharded`."""
    fields = {k: manifest[k] for k in ("source", "trainset", "num_classes", "image_shape")}
    return fields | {"class_names": manifest.get("class_names")}


def _shards(manifest_path: str | Path, verify: bool) -> Iterator[tuple[Path, dict]]:
    """The non-empty shards a manifest lists, each after checking it exists and (``verify``) its sha256."""
    manifest_path = Path(manifest_path)
    if not manifest_path.exists():
        raise IntegrityError(f"manifest not found: {manifest_path}")
    manifest = read_json(manifest_path)
    for entry in manifest["shards"]:
        shard = manifest_path.parent / entry["path"]
        if not shard.exists():
            raise IntegrityError(f"shard {shard} listed in {manifest_path} is missing; rerun the job that writes it")
        if verify and (digest := sha256_file(shard)) != entry["sha256"]:
            raise IntegrityError(
                f"shard {shard} is corrupt: sha256 {digest[:12]}... does not match the manifest's "
                f"{entry['sha256'][:12]}..."
            )
        if entry["count"] == 0:  # more shards than images leaves some empty; nothing to decode
            continue
        yield shard, entry


def read_image_set(manifest_path: str | Path, verify: bool = True) -> ImageSet:
    """Decode every shard a manifest lists, after checking each one's sha256 and row count."""
    keys: list[str] = []
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for shard, entry in _shards(manifest_path, verify):
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
    for shard, _ in _shards(manifest_path, verify):
        keys.extend(pq.read_table(shard, columns=["key"]).column("key").to_pylist())
    return keys


def read_shard(shard: Path) -> ImageSet:
    if shard.suffix == ".tar":
        return read_tar_shard(shard)
    try:
        table = pq.read_table(shard, columns=["key", "image", "label"])
    except (OSError, pa.ArrowException) as err:
        raise IntegrityError(f"shard {shard} cannot be read: {err}") from err
    images = [decode_png(blob["bytes"]) for blob in table.column("image").to_pylist()]
    stacked = np.stack(images) if images else np.zeros((0, 0, 0, 0), np.uint8)
    return ImageSet(table.column("key").to_pylist(), stacked, table.column("label").to_numpy().astype(np.int64))
