"""WebDataset tar shards, the streaming format beside Parquet: per sample ``<key>.png``, ``<key>.cls``
(the label as text) and ``<key>.json`` (provenance). Tar headers carry no time, owner or host, so the
same images give the same bytes."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synthval.data.images import ImageSet, decode_png, encode_png
from synthval.io import IntegrityError, atomic_path, write_record


def _member(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, io.BytesIO(data)


def write_tar_shard(
    path: str | Path,
    keys: Sequence[str],
    images: np.ndarray,
    labels: np.ndarray,
    provenance: dict,
    record: bool = False,
) -> None:
    """Write one tar shard atomically; ``record`` writes ``<shard>.sha256`` after it
    (:func:`synthval.io.write_record`), for a shard that another job indexes (tar has no checksum of
    its own content)."""
    with atomic_path(path) as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for key, image, label in zip(keys, images, labels, strict=True):
            if "." in key or "/" in key:
                raise ValueError(f"WebDataset keys may not contain '.' or '/': {key!r}")
            tar.addfile(*_member(f"{key}.png", encode_png(image)))
            tar.addfile(*_member(f"{key}.cls", str(int(label)).encode()))
            tar.addfile(
                *_member(
                    f"{key}.json", json.dumps({"key": key, "label": int(label), **provenance}, sort_keys=True).encode()
                )
            )
    if record:
        write_record(path)


def count_tar_samples(path: str | Path) -> int:
    with tarfile.open(path) as tar:
        return sum(1 for m in tar.getmembers() if m.name.endswith(".cls"))


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """The bytes of a regular file of ``tar``."""
    data = tar.extractfile(member)
    if data is None:
        raise tarfile.TarError(f"{member.name} is not a regular file")
    return data.read()


def read_tar_shard(path: str | Path) -> ImageSet:
    """Decode a shard written by :func:`write_tar_shard` (sample order preserved)."""
    samples: dict[str, dict[str, bytes]] = {}
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    raise IntegrityError(f"{path}: unexpected member {member.name!r}")
                key, _, ext = member.name.partition(".")
                samples.setdefault(key, {})[ext] = _member_bytes(tar, member)
    except tarfile.TarError as err:
        raise IntegrityError(f"WebDataset shard {path} cannot be read: {err}") from err
    incomplete = [k for k, v in samples.items() if {"png", "cls"} - v.keys()]
    if incomplete:
        raise IntegrityError(f"WebDataset shard {path}: samples without image or label: {incomplete[:5]}")
    keys = list(samples)
    images = np.stack([decode_png(samples[k]["png"], path, k) for k in keys])
    try:
        labels = [int(samples[k]["cls"]) for k in keys]
    except ValueError as err:
        bad = next(k for k in keys if not samples[k]["cls"].strip().isdigit())
        raise IntegrityError(f"WebDataset shard {path}, sample {bad}: label is not an integer ({err})") from err
    return ImageSet(keys, images, np.array(labels, np.int64))
