"""Seeds derived from the config's one global seed. Torch-free, so the Snakefile can plan jobs quickly."""

from __future__ import annotations

import hashlib
from typing import Any


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed that depends only on ``parts`` (stable across processes and Python versions)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
