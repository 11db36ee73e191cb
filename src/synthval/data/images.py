"""The decoded image set every trainer and predictor consumes, and the PNG codec of both shard formats."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from synthval.io import IntegrityError


@dataclass
class ImageSet:
    """A decoded shard set: the unit every trainer and predictor consumes."""

    keys: list[str]
    images: np.ndarray  # uint8 (N, H, W, C)
    labels: np.ndarray  # int64 (N,)

    def __len__(self) -> int:
        return len(self.keys)


def encode_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def decode_png(data: bytes, shard: object = None, key: str | None = None) -> np.ndarray:
    """An encoded image as a HWC uint8 array; one that does not decode raises
    :class:`~synthval.io.IntegrityError` naming the ``shard`` and ``key`` it came from."""
    try:
        arr = np.asarray(Image.open(io.BytesIO(data)))
    except (OSError, ValueError, SyntaxError) as err:  # PIL: OSError for broken streams, SyntaxError for bad chunks
        where = f"shard {shard}, image {key}" if shard is not None else "an image"
        raise IntegrityError(f"{where} does not decode ({type(err).__name__}: {err})") from err
    return arr[..., None] if arr.ndim == 2 else arr


def tile_images(images: np.ndarray, columns: int) -> np.ndarray:
    """uint8 NHWC ``images`` as one image, ``columns`` a row, filled in order (the last row's empty
    tiles black), each tile followed by a 1-pixel black gap."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    out = np.zeros((rows * (h + 1), columns * (w + 1), c), np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        out[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = image
    return out
