"""Atomic file writes, checksums and safe tensor files.

Every artifact is written to a temporary file in its destination folder and renamed into place, so a
crash never leaves a half-written file under a final name. Weights travel only as safetensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where tensors are read or written, so planning a run stays fast
    import torch


_UMASK = os.umask(0)
os.umask(_UMASK)


class IntegrityError(RuntimeError):
    """A file is missing, truncated or altered with respect to its manifest or format."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; finished artifacts get the usual mode
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


#: The key of a sealed JSON document that holds the sha256 of the rest of it (see :func:`write_json`).
SEAL = "content_sha256"


def write_json(path: str | os.PathLike, obj: Any, seal: bool = False) -> None:
    """Write ``obj`` as JSON, atomically. ``seal`` (a dict) adds :data:`SEAL`, the sha256 of the rest of
    the document, so :func:`read_json` refuses a copy changed after it was written."""
    if seal:
        obj = {**obj, SEAL: _json_digest(obj)}
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def read_json(path: str | os.PathLike, sealed: bool | None = None) -> Any:
    """Read a JSON file; a sealed document's :data:`SEAL` is checked and removed (``sealed=True``
    requires the seal). Unreadable or altered files raise :class:`IntegrityError` naming them."""
    path = Path(path)
    try:
        obj = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise IntegrityError(f"{path} is not valid JSON ({err}); delete it and rerun the job that writes it") from err
    has_seal = isinstance(obj, dict) and SEAL in obj
    if sealed and not has_seal:
        raise IntegrityError(f"{path} carries no {SEAL}: it was not written by this version, or was edited")
    if has_seal:
        recorded = obj.pop(SEAL)
        if (digest := _json_digest(obj)) != recorded:
            raise IntegrityError(
                f"{path} was changed after it was written: its content hashes to {digest[:12]}..., not the "
                f"{str(recorded)[:12]}... it was sealed with; delete it and rerun the job that writes it"
            )
    return obj


def _json_digest(obj: Any) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy and torch scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def save_tensors(
    path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any] | None = None
) -> None:
    """Write tensors as safetensors (atomically); ``metadata`` is stored JSON-encoded in the header,
    beside a sha256 of the metadata, the tensors' names, dtypes, shapes and offsets, and their bytes,
    which every read checks (safetensors itself has no checksum: a flipped bit in a weight would load
    silently)."""
    from safetensors.torch import save

    meta = json.dumps(metadata or {}, sort_keys=True, default=_json_default)
    blob = save({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, metadata={"synthval": meta})
    header, data = _split_safetensors(blob, path)
    header["__metadata__"][_TENSOR_SEAL] = _tensor_digest(header, data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes with spaces
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(len(encoded).to_bytes(8, "little"))
        fh.write(encoded)
        fh.write(data)


_TENSOR_SEAL = "synthval_sha256"


def _split_safetensors(blob: bytes, path: str | os.PathLike) -> tuple[dict[str, Any], memoryview]:
    """The header (as a dict) and the data section of a safetensors file's bytes."""
    try:
        size = int.from_bytes(blob[:8], "little")
        if len(blob) < 8 or size > len(blob) - 8:
            raise ValueError(f"header of {size} bytes in a file of {len(blob)}")
        header = json.loads(blob[8 : 8 + size])
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except ValueError as err:
        raise IntegrityError(f"{path} is not a valid safetensors file ({err})") from err
    header.setdefault("__metadata__", {})
    return header, memoryview(blob)[8 + size :]


def _tensor_digest(header: Mapping[str, Any], data: memoryview) -> str:
    """sha256 of the synthval metadata, every tensor's header entry and the data section."""
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    digest = hashlib.sha256(str(header["__metadata__"].get("synthval", "{}")).encode() + b"\0")
    digest.update(json.dumps(entries, sort_keys=True, separators=(",", ":")).encode() + b"\0")
    digest.update(data)
    return digest.hexdigest()


def _read_safetensors(path: str | os.PathLike) -> tuple[bytes, dict[str, str]]:
    """A safetensors file's bytes and header metadata, after checking the sha256 :func:`save_tensors`
    recorded (files from elsewhere carry none and are taken as they are); no torch needed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    blob = path.read_bytes()
    header, data = _split_safetensors(blob, path)
    meta = header["__metadata__"]
    if (recorded := meta.get(_TENSOR_SEAL)) is not None and (digest := _tensor_digest(header, data)) != recorded:
        raise IntegrityError(
            f"{path} was changed after it was written: its content hashes to {digest[:12]}..., not the "
            f"{str(recorded)[:12]}... recorded in its header; delete it and rerun the job that writes it"
        )
    return blob, meta


def load_tensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors file written by :func:`save_tensors`, after checking its sha256; no pickle is
    ever involved."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    blob, meta = _read_safetensors(path)
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError) as err:
        raise IntegrityError(f"{path} is not a valid safetensors file ({err})") from err
    return tensors, _metadata(path, meta)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`save_tensors` stored, after the same check as :func:`load_tensors` (no
    tensor is built, and torch is not imported)."""
    return _metadata(path, _read_safetensors(path)[1])


def _metadata(path: str | os.PathLike, meta: Mapping[str, str]) -> dict[str, Any]:
    try:
        return json.loads(meta.get("synthval", "{}"))
    except (ValueError, TypeError) as err:
        raise IntegrityError(f"{path} has unreadable synthval metadata ({err})") from err


def record_path(path: str | os.PathLike) -> str:
    """Where :func:`write_record` keeps the record of ``path``: ``<path>.sha256``."""
    return f"{path}.sha256"


def write_record(path: str | os.PathLike) -> str:
    """Record the sha256 of the file a job just wrote at ``<path>.sha256``, in ``sha256sum``'s format (so
    ``sha256sum -c`` checks it too): the producer's word on its bytes, which a job that indexes or
    converts the file checks (:func:`check_record`) instead of trusting whatever is on disk."""
    digest = sha256_file(path)
    write_bytes(record_path(path), f"{digest}  {Path(path).name}\n".encode())
    return digest


def check_record(path: str | os.PathLike) -> str:
    """The sha256 of ``path`` once it matches what its producer recorded; :class:`IntegrityError` naming
    the file otherwise (changed, truncated, or its record missing)."""
    record = Path(record_path(path))
    if not Path(path).exists():
        raise IntegrityError(f"{path} is missing; rerun the job that writes it")
    try:
        recorded = record.read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError) as err:
        raise IntegrityError(
            f"{path}: the record of what its producer wrote ({record}) is missing or unreadable ({err}); "
            f"delete both and rerun to make them again"
        ) from err
    if (digest := sha256_file(path)) != recorded:
        raise IntegrityError(
            f"{path} was changed after the job that wrote it finished: sha256 {digest[:12]}... is not the "
            f"{recorded[:12]}... recorded in {record}; delete it and rerun to make it again"
        )
    return digest


_TABLE_SEAL = b"synthval_sha256"


def write_frame(path: str | os.PathLike, frame: Any) -> None:
    """Write a polars DataFrame as Parquet, atomically, with page checksums and, in its metadata, the
    sha256 of its content (names, types and values): :func:`read_frame` checks both, since a flip in a
    Parquet footer (a column's name, a row count) passes every page checksum."""
    import polars as pl
    import pyarrow.parquet as pq

    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    table = table.replace_schema_metadata({_TABLE_SEAL: _table_digest(table)})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, write_page_checksum=True)


def read_frame(path: str | os.PathLike) -> Any:
    """A table :func:`write_frame` wrote, as a polars DataFrame, its pages and content checked;
    :class:`IntegrityError` names a file that cannot be read or does not hold what was written."""
    import polars as pl

    table = read_parquet(path)
    recorded = (table.schema.metadata or {}).get(_TABLE_SEAL)
    if recorded is None:
        raise IntegrityError(
            f"{path} carries no content sha256: another tool or an older version wrote it, or its footer is "
            "damaged; delete it and rerun the job that writes it"
        )
    if (digest := _table_digest(table)) != recorded.decode(errors="replace"):
        raise IntegrityError(
            f"{path} was changed after it was written: its content hashes to {digest[:12]}..., not the "
            f"{recorded[:12].decode(errors='replace')}... recorded in it; delete it and rerun the job that writes it"
        )
    return pl.from_arrow(table.replace_schema_metadata(None))


def _table_digest(table: Any) -> str:
    """The sha256 of a pyarrow Table's logical content: each column's name, type, validity and values
    (nulls as zeros or empty strings). Physical layout (chunks, validity buffers, what lies under a
    null) differs between a written table and the same table read back, so it is left out."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        kind = column.type
        digest.update(f"\0{name}\0{_type_name(kind)}\0{len(column)}\0".encode())
        digest.update(np.packbits(column.is_valid().to_numpy(zero_copy_only=False)).tobytes())
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            values = column.fill_null("").to_numpy(zero_copy_only=False)
            digest.update(np.asarray(pc.utf8_length(column.fill_null("")), np.int64).tobytes())
            digest.update("".join(values).encode())
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            digest.update(np.asarray(column.fill_null(False if pa.types.is_boolean(kind) else 0)).tobytes())
        else:  # lists, structs, nulls: their Python values
            digest.update(json.dumps(column.to_pylist(), default=str).encode())
    return digest.hexdigest()


def _type_name(kind: Any) -> str:
    """An Arrow type without the names of list items (Parquet calls them ``element``, Arrow ``item``)."""
    import pyarrow as pa

    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_type_name(kind.value_type)}>"
    if pa.types.is_struct(kind):
        return "struct<" + ", ".join(f"{f.name}: {_type_name(f.type)}" for f in kind) + ">"
    return str(kind)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> Any:
    """A Parquet file as a pyarrow Table, page checksums verified, errors naming the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not Path(path).exists():
        raise FileNotFoundError(f"table not found: {path}")
    try:
        return pq.read_table(path, columns=columns, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as err:
        raise IntegrityError(f"{path} cannot be read ({err}); delete it and rerun the job that writes it") from err
