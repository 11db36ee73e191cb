"""The published weights of the feature extractors, fetched when the user asks: ``synthval weights fetch``.

Nothing in the workflow downloads anything; this is the one place that does, and only on request. A fetch
streams the publisher's file to a temporary file beside the output, checks its sha256 against the
publisher's checksum (or one the user pins), reads it with ``torch.load(..., weights_only=True)`` (tensors
only, no code), and writes the tensors as safetensors, atomically, where the config looks for them
(:func:`synthval.config.default_weights`). A failed check leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from synthval.config import default_weights
from synthval.io import save_tensors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """One extractor's published weights: where they are, and what their publisher says they hash to."""

    url: str
    #: The leading hex digits of the file's sha256 as published (torch.hub's convention: the file name
    #: ends in them), or None where the publisher gives no checksum.
    sha256_prefix: str | None
    #: Where the URL (and checksum) is published, and which config key uses the file.
    about: str


PUBLISHED = {
    "inception": Published(
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
        "6726825d",
        "torch-fidelity's TF-compatible Inception-v3 (its v0.2.0 release; the file name carries its sha256's "
        "first 8 hex digits); quality.extractor: inception",
    ),
    "dinov2": Published(
        "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",
        None,
        "DINOv2 ViT-L/14 as facebookresearch/dinov2's hubconf loads it (no checksum published); "
        "quality.extractor: dinov2",
    ),
    "sscd": Published(
        "https://dl.fbaipublicfiles.com/sscd-copy-detection/sscd_disc_mixup.torchvision.pt",
        None,
        "SSCD's torchvision ResNet-50 (Pizzi et al. 2022; facebookresearch/sscd-copy-detection, no checksum "
        "published); privacy.copy_detection.weights",
    ),
}


class ChecksumError(ValueError):
    """The downloaded file does not hash to what its publisher (or the user) says."""


def _download(url: str, to: Path, chunk: int = 1 << 20) -> str:
    """Stream ``url`` into ``to``; returns the sha256 of the bytes written. Progress goes to the log."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60) as response, open(to, "wb") as fh:
        total = int(response.headers.get("Content-Length") or 0)
        done, shown = 0, 0
        while block := response.read(chunk):
            fh.write(block)
            digest.update(block)
            done += len(block)
            if total and done * 10 // total > shown:
                shown = done * 10 // total
                log.info("%s: %d of %d MB", url.rsplit("/", 1)[-1], done >> 20, total >> 20)
    return digest.hexdigest()


def _check(digest: str, name: str, url: str, sha256: str | None) -> None:
    expected = (sha256 or PUBLISHED[name].sha256_prefix or "").lower()
    if expected and not digest.startswith(expected):
        whose = "the sha256 given" if sha256 else "its published checksum"
        raise ChecksumError(
            f"{url} hashes to sha256 {digest[:16]}..., not {whose} {expected[:16]}...: nothing was written"
        )


def _tensors(path: Path) -> dict:
    """The state dict in a PyTorch checkpoint, read without unpickling code (``weights_only=True``)."""
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(blob, dict) and isinstance(blob.get(key), dict):
            blob = blob[key]
    tensors = {k: v for k, v in blob.items() if isinstance(v, torch.Tensor)} if isinstance(blob, dict) else {}
    if not tensors:
        raise ValueError(f"{path.name} holds no state dict of tensors")
    return tensors


def fetch_weights(name: str, out: str | Path | None = None, url: str | None = None, sha256: str | None = None) -> Path:
    """Download extractor ``name``'s published weights (or ``url``), check them, and write them as
    safetensors to ``out`` (default: where the config looks, ``weights/<name>.safetensors``). Returns the
    path written. ``sha256`` pins the file's hash (a prefix will do); without it the publisher's checksum
    is checked where one is published, and the hash seen is logged so that it can be pinned."""
    if name not in PUBLISHED:
        raise ValueError(f"no published weights named {name!r}; choose one of {', '.join(PUBLISHED)}")
    url = url or PUBLISHED[name].url
    out = Path(out or default_weights(name))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".download", dir=out.parent)
    os.close(fd)
    try:  # the download is removed whatever happens
        digest = _download(url, Path(tmp))
        _check(digest, name, url, sha256)
        log.info("%s: sha256 %s", url.rsplit("/", 1)[-1], digest)
        save_tensors(out, _tensors(Path(tmp)), {"source": url, "sha256": digest})
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
