"""Image sources: scikit-learn digits (the offline default), CIFAR-10/100 and MNIST via torchvision,
any ImageFolder, a Parquet image table and an ``.npz`` of arrays. Each loader returns the whole pool as
uint8 NHWC."""

from __future__ import annotations

import io
import os
import pickle
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image

from synthval.io import read_parquet

#: Pool sizes of the built-in sources, so the config can be checked before any job runs.
POOL_SIZES = {"digits": 1797, "mnist": 70000, "cifar10": 60000, "cifar100": 60000}
#: Class counts of the built-in sources (per-class generators need one job per class).
NUM_CLASSES = {"digits": 10, "mnist": 10, "cifar10": 10, "cifar100": 100}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is not on disk and downloading is not allowed."""


@dataclass
class ImageArray:
    images: np.ndarray  # uint8, (N, H, W, C): an array, or FolderImages, which reads what is sliced
    labels: np.ndarray  # int64, (N,)
    class_names: list[str]

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:  # an array, or FolderImages
            raise ValueError(f"images must be uint8 NHWC, got {self.images.dtype} {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")


def read_source(source: str, root: str | Path, download: bool = False) -> ImageArray:
    """The whole pool of ``source`` as stored (its own size and channels)."""
    loaders = {
        "digits": lambda: _digits(),
        "cifar10": lambda: _cifar(Path(root), "cifar10", download),
        "cifar100": lambda: _cifar(Path(root), "cifar100", download),
        "mnist": lambda: _mnist(Path(root), download),
        "imagefolder": lambda: _imagefolder(Path(root)),
        "parquet": lambda: _parquet(Path(root)),
        "npz": lambda: _npz(Path(root)),
    }
    if source not in loaders:
        raise ValueError(f"unknown data source {source!r}; choose one of {sorted(loaders)}")
    return loaders[source]()


def load_dataset(
    source: str,
    root: str | Path,
    image_size: int,
    channels: int | None = None,
    download: bool = False,
    num_classes: int | None = None,
) -> ImageArray:
    """Load the whole pool of ``source`` resized to ``image_size`` (square), optionally converted
    to ``channels`` (1 or 3; default: the source's own). An image folder's images are decoded as they are
    read (:class:`FolderImages`), so its pool never has to fit in memory: ImageNet-1K's 1.28M files
    need their paths only."""
    if source == "imagefolder":
        return folder_pool(Path(root), image_size, channels, num_classes)
    data = read_source(source, root, download)
    return ImageArray(resize_images(data.images, image_size, channels), data.labels.astype(np.int64), data.class_names)


class FolderImages:
    """The images of an image folder, decoded when a slice of them is read (as ``channels``, then at
    ``size`` as :func:`resize_images` makes them); indexing with an array of positions selects files
    without decoding any. Stands in for a uint8 NHWC array where a pool is only sliced (the splits and
    their shards). ``changes`` counts what decoding did to the images read so far: ``resized`` (not
    already ``size`` x ``size``), ``not_square`` (squashed to a square), ``converted`` (by source mode,
    e.g. ``RGBA``, ``P``, ``L``: brought to grey or RGB)."""

    ndim, dtype = 4, np.dtype(np.uint8)

    def __init__(
        self,
        paths: list[Path],
        size: int,
        channels: int,
        changes: Counter[str] | None = None,
        skipped: list[Path] | None = None,
        seen: set[Path] | None = None,
    ):
        self.paths, self.size, self.channels = paths, size, channels
        self.shape = (len(paths), size, size, channels)
        self.changes: Counter[str] = Counter() if changes is None else changes  # shared by selections
        self.seen: set[Path] = set() if seen is None else seen  # each image counted once, however often read
        self.skipped = skipped or []  # the folder's files that are not images

    def __len__(self) -> int:
        return len(self.paths)

    def _decode(self, path: Path) -> np.ndarray:
        mode = "L" if self.channels == 1 else "RGB"
        with Image.open(path) as image:
            if path not in self.seen:
                self.seen.add(path)
                changed = {
                    "not_square": image.width != image.height,
                    "resized": image.size != (self.size, self.size),
                    f"converted from {image.mode}": image.mode != mode,
                }
                self.changes.update(what for what, yes in changed.items() if yes)
            pixels = np.asarray(image.convert(mode))
        return resize_images(pixels.reshape(1, *pixels.shape[:2], self.channels), self.size, self.channels)[0]

    def __getitem__(self, key):
        if isinstance(key, slice):
            decoded = [self._decode(path) for path in self.paths[key]]
            if not decoded:
                return np.zeros((0, *self.shape[1:]), np.uint8)
            return np.stack(decoded)
        chosen = [self.paths[i] for i in np.asarray(key)]
        return FolderImages(chosen, self.size, self.channels, self.changes, self.skipped, self.seen)


#: File names an image folder's images may have; other files are skipped, counted and named in the log.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"})


@dataclass
class FolderScan:
    """An image folder's files: ``paths`` and ``labels`` (indices into ``classes``, in
    :func:`class_order`), and the ``skipped`` files that are not images."""

    root: Path
    paths: list[Path]
    labels: list[int]
    classes: list[str]
    skipped: list[Path]


def class_order(names: list[str]) -> list[str]:
    """The order that gives class folders their labels: numbers as numbers where every name is one
    (``2`` before ``10``), otherwise by name. The order is recorded with the shards (``class_names``)."""
    if names and all(n.isdecimal() for n in names):
        return sorted(names, key=lambda n: (int(n), n))
    return sorted(names)


def folder_classes(root: Path) -> list[str]:
    """The class folders of ``root/<class>/<image>`` in label order (hidden folders left out)."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder not found: {root}")
    return class_order([d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")])


def first_images(root: Path, classes: list[str]) -> dict[str, Path | None]:
    """Each class folder's first image file found (None where it holds none); each listing stops at its
    first image, so this is cheap on a folder of any size."""
    found: dict[str, Path | None] = {}
    for c in classes:
        found[c] = next(
            (root / c / e.name for e in os.scandir(root / c) if e.is_file() and is_image_name(e.name)), None
        )
    return found


def is_image_name(name: str) -> bool:
    """Whether a file of this name is read as an image (not hidden, an :data:`IMAGE_SUFFIXES` suffix)."""
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def scan_folder(root: Path, num_classes: int | None = None) -> FolderScan:
    """The image files of ``root/<class>/<image>`` with their labels. Refused: no class folders, a
    class folder with no image (it would take a label no image has, or, left out, shift the labels
    after it) and a class count other than ``num_classes`` (when given)."""
    classes = folder_classes(root)
    if not classes:
        raise DatasetNotFoundError(f"{root} has no class sub-folders (expected root/<class>/<image>)")
    if num_classes is not None and len(classes) != num_classes:
        raise ValueError(
            f"{root} has {len(classes)} class folders but data.num_classes is {num_classes} "
            f"({', '.join(classes[:12])}{', ...' if len(classes) > 12 else ''})"
        )
    paths, labels, skipped, empty = [], [], [], []
    for label, cls in enumerate(classes):
        files = sorted(e.name for e in os.scandir(root / cls) if e.is_file())
        images = [root / cls / f for f in files if is_image_name(f)]
        skipped += [root / cls / f for f in files if not is_image_name(f)]
        if not images:
            empty.append(cls)
        paths += images
        labels += [label] * len(images)
    if empty:
        raise ValueError(
            f"{root}: class folder(s) {', '.join(empty)} hold no images (an empty class would take a label no "
            "image has); remove them or add images"
        )
    return FolderScan(root, paths, labels, classes, skipped)


def folder_channels(scan: FolderScan) -> int:
    """An image folder's own channels: 1 where the first image of every class is grey, else 3 (RGB)."""
    firsts: dict[int, Path] = {}
    for path, label in zip(scan.paths, scan.labels, strict=True):
        firsts.setdefault(label, path)
    for path in firsts.values():
        with Image.open(path) as image:
            if image.mode not in ("L", "1", "I;16", "I", "LA"):
                return 3
    return 1


def folder_pool(root: Path, size: int, channels: int | None, num_classes: int | None = None) -> ImageArray:
    """An image folder (``root/<class>/<image>``) as a pool whose images are read when sliced
    (``channels`` None: the folder's own, :func:`folder_channels`)."""
    scan = scan_folder(root, num_classes)
    lazy = FolderImages(scan.paths, size, channels or folder_channels(scan), skipped=scan.skipped)
    return ImageArray(cast(np.ndarray, lazy), np.asarray(scan.labels, np.int64), scan.classes)


def resize_images(images: np.ndarray, size: int, channels: int | None) -> np.ndarray:
    """uint8 NHWC images at ``size`` x ``size`` (bilinear) with ``channels`` (1: grey, 3: RGB; None: as they are)."""
    n, h, w, c = images.shape
    want_c = channels or c
    if (h, w, c) == (size, size, want_c):
        return images
    mode = "L" if want_c == 1 else "RGB"
    out = np.empty((n, size, size, want_c), np.uint8)
    for i, img in enumerate(images):
        pil = Image.fromarray(img[..., 0] if c == 1 else img).convert(mode)
        if pil.size != (size, size):
            pil = pil.resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(pil)
        out[i] = arr[..., None] if want_c == 1 else arr
    return out


def _digits() -> ImageArray:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return ImageArray(images, digits.target.astype(np.int64), [str(i) for i in range(10)])


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR python batches (dicts of numpy arrays, lists, bytes) and nothing else."""

    _allowed = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _cifar(root: Path, name: str, download: bool) -> ImageArray:
    folder, batches, label_key, meta_file, names_key = {
        "cifar10": (
            "cifar-10-batches-py",
            [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"],
            b"labels",
            "batches.meta",
            b"label_names",
        ),
        "cifar100": ("cifar-100-python", ["train", "test"], b"fine_labels", "meta", b"fine_label_names"),
    }[name]
    base = root / folder
    if not base.is_dir():
        if not download:
            raise DatasetNotFoundError(
                f"{name} not found: expected the extracted python version in {base} "
                f"(set data.download: true to fetch it, or place it there by hand)"
            )
        from torchvision import datasets

        getattr(datasets, name.upper())(str(root), train=True, download=True)
    present = [base / b for b in batches if (base / b).exists()]
    if not present:
        raise DatasetNotFoundError(f"{name}: no batch files ({', '.join(batches)}) in {base}")
    images, labels = [], []
    for path in present:
        with open(path, "rb") as fh:
            batch = _ArrayUnpickler(fh, encoding="bytes").load()
        images.append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch[label_key], np.int64))
    n_classes = 10 if name == "cifar10" else 100
    class_names = [str(i) for i in range(n_classes)]
    if (base / meta_file).exists():
        with open(base / meta_file, "rb") as fh:
            class_names = [n.decode() for n in _ArrayUnpickler(fh, encoding="bytes").load()[names_key]]
    return ImageArray(np.concatenate(images), np.concatenate(labels), class_names)


def _mnist(root: Path, download: bool) -> ImageArray:
    from torchvision import datasets

    try:
        parts = [datasets.MNIST(str(root), train=t, download=download) for t in (True, False)]
    except RuntimeError as err:
        raise DatasetNotFoundError(
            f"mnist not found in {root / 'MNIST' / 'raw'} ({err}); set data.download: true or place the idx files there"
        ) from err
    images = np.concatenate([p.data.numpy() for p in parts])[..., None]
    labels = np.concatenate([p.targets.numpy() for p in parts])
    return ImageArray(images.astype(np.uint8), labels, [str(i) for i in range(10)])


def _imagefolder(root: Path) -> ImageArray:
    """An image folder read whole, at the first image's size and the folder's own channels."""
    scan = scan_folder(root)
    with Image.open(scan.paths[0]) as first:
        size = first.height
    images = FolderImages(scan.paths, size, folder_channels(scan))[:]
    return ImageArray(images, np.asarray(scan.labels, np.int64), scan.classes)


def _parquet(path: Path) -> ImageArray:
    if not path.exists():
        raise DatasetNotFoundError(f"parquet image table not found: {path}")
    table = read_parquet(path, columns=["image", "label"])
    raw = table.column("image").to_pylist()
    blobs = [r["bytes"] if isinstance(r, dict) else r for r in raw]
    images = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]
    labels = np.asarray(table.column("label").to_pylist(), np.int64)
    names = [str(i) for i in range(int(labels.max()) + 1)]
    return ImageArray(np.stack(images), labels, names)


def _npz(path: Path) -> ImageArray:
    """``images`` (uint8, N x H x W x C, or N x H x W for grey) and ``labels`` (integers) of an .npz
    (read without pickle)."""
    if not path.is_file():
        raise DatasetNotFoundError(f"npz file not found: {path}")
    with np.load(path, allow_pickle=False) as arrays:
        missing = {"images", "labels"} - set(arrays.files)
        if missing:
            raise ValueError(f"{path} lacks the array(s) {sorted(missing)} (it has {sorted(arrays.files)})")
        images, labels = arrays["images"], arrays["labels"]
    if images.ndim == 3:
        images = images[..., None]
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"{path}: images must be uint8 N x H x W (x C), got {images.dtype} {images.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: labels must be integers, got {labels.dtype}")
    names = [str(i) for i in range(int(labels.max()) + 1)] if len(labels) else []
    return ImageArray(images, labels.astype(np.int64), names)
