"""Image sources: scikit-learn digits (the offline default), CIFAR-10/100 and MNIST via torchvision,
any ImageFolder, a Parquet image table and an ``.npz`` of arrays. Each loader returns the whole pool as
uint8 NHWC."""

from __future__ import annotations

import io
import pickle
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
    source: str, root: str | Path, image_size: int, channels: int | None = None, download: bool = False
) -> ImageArray:
    """Load the whole pool of ``source`` resized to ``image_size`` (square), optionally converted
    to ``channels`` (1 or 3; default: the source's own). An image folder's images are decoded as they are
    read (:class:`FolderImages`), so its pool never has to fit in memory: ImageNet-1K's 1.28M files
    need their paths only."""
    if source == "imagefolder":
        return folder_pool(Path(root), image_size, channels)
    data = read_source(source, root, download)
    return ImageArray(resize_images(data.images, image_size, channels), data.labels.astype(np.int64), data.class_names)


class FolderImages:
    """The images of an image folder, decoded when a slice of them is read (RGB, then ``channels`` and
    ``size`` as :func:`resize_images` makes them); indexing with an array of positions selects files
    without decoding any. Stands in for a uint8 NHWC array where a pool is only sliced (the splits and
    their shards)."""

    ndim, dtype = 4, np.dtype(np.uint8)

    def __init__(self, paths: list[Path], size: int, channels: int):
        self.paths, self.size, self.channels = paths, size, channels
        self.shape = (len(paths), size, size, channels)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key):
        if isinstance(key, slice):
            decoded = [np.asarray(Image.open(path).convert("RGB")) for path in self.paths[key]]
            if not decoded:
                return np.zeros((0, *self.shape[1:]), np.uint8)
            return np.concatenate([resize_images(image[None], self.size, self.channels) for image in decoded])
        return FolderImages([self.paths[i] for i in np.asarray(key)], self.size, self.channels)


def folder_pool(root: Path, size: int, channels: int | None) -> ImageArray:
    """An image folder (``root/<class>/<image>``) as a pool whose images are read when sliced."""
    paths, labels, classes = _folder_files(root)
    lazy = cast(np.ndarray, FolderImages(paths, size, channels or 3))  # sliced, indexed and measured as one
    return ImageArray(lazy, np.asarray(labels, np.int64), classes)


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


def _folder_files(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """The image files of ``root/<class>/<image>``, their labels (classes in name order) and the classes."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder not found: {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not classes:
        raise DatasetNotFoundError(f"{root} has no class sub-folders (expected root/<class>/<image>)")
    paths, labels = [], []
    for label, cls in enumerate(classes):
        for path in sorted((root / cls).iterdir()):
            if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
                paths.append(path)
                labels.append(label)
    return paths, labels, classes


def _imagefolder(root: Path) -> ImageArray:
    paths, labels, classes = _folder_files(root)
    images = [np.asarray(Image.open(path).convert("RGB")) for path in paths]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:  # differing sizes: bring everything to the first image's size before stacking
        h, w = images[0].shape[:2]
        images = [np.asarray(Image.fromarray(im).resize((w, h), Image.Resampling.BILINEAR)) for im in images]
    return ImageArray(np.stack(images), np.asarray(labels, np.int64), classes)


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
