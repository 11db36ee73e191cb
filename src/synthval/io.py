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


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


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
    """Write tensors as safetensors (atomically); ``metadata`` is stored JSON-encoded in the header."""
    from safetensors.torch import save_file

    header = {"synthval": json.dumps(metadata or {}, sort_keys=True, default=_json_default)}
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def load_tensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors file written by :func:`save_tensors`; no pickle is ever involved."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, ValueError, OSError) as err:
        raise IntegrityError(f"{path} is not a valid safetensors file ({err})") from err
    return tensors, read_metadata(path)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`save_tensors` stored, read from the header alone (no tensor is loaded)."""
    try:
        with open(path, "rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            if header_len > 100_000_000:
                raise ValueError(f"implausible header length {header_len}")
            header = json.loads(fh.read(header_len))
        return json.loads(header.get("__metadata__", {}).get("synthval", "{}"))
    except (ValueError, OSError, AttributeError) as err:
        raise IntegrityError(f"{path} is not a valid safetensors file ({err})") from err
