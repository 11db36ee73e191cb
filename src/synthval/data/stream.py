"""Image sets read as a stream: memory that does not grow with the set.

:func:`synthval.data.read_image_set` decodes a whole set into one array, the fastest way to use a set
that fits in memory many times over (the zoo trains on its split for many epochs from one array). An
ImageNet-size set does not fit: 1.28M images at 224 px are about 190 GB decoded. :class:`ShardStream`
reads the same shards (Parquet, record batch by record batch, page checksums verified; WebDataset tar,
shard by shard) and yields one image at a time, so a job holds a few record batches and its shuffle
buffer, whatever the set's size.

- **Splitting.** Shards are dealt out to distributed ranks (``rank::world``) and, within a rank, to
  DataLoader workers (``worker::workers``): every image is read by exactly one worker of one rank, and a
  rank reads the same shards whatever its number of workers. A set with fewer shards than ranks x
  workers leaves some idle; write more shards than that.
- **Order.** Unshuffled, a single reader yields the images in :func:`read_image_set`'s order. Shuffled,
  each epoch deals the shards in a seeded order and passes the images through a seeded shuffle buffer of
  ``buffer`` images: an image leaves the buffer at a uniformly random slot once it is full. This is not a
  full shuffle (an image moves at most about ``buffer`` places past its shard's neighbours, and the
  shard order is what mixes shards), the trade-off every streaming loader makes (WebDataset's
  ``shuffle``, tf.data's ``shuffle``); a buffer of a few shards' size is indistinguishable from a full
  shuffle for SGD in practice. All randomness derives from ``seed``, the epoch, the rank and the worker,
  so the same config and the same number of workers give the same batches.
- **Integrity.** The manifest's sha256 of every shard is checked once when the stream is made (in the
  main process), and a row that does not decode names its shard and key, as :func:`read_image_set` does.

:func:`stream_batches` wraps a stream in a :class:`torch.utils.data.DataLoader` (decoding in workers,
pinned memory on CUDA) and yields :class:`synthval.data.images.ImageSet` batches with their keys.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from synthval.data.images import ImageSet, decode_png
from synthval.data.shards import ROW_GROUP, check_columns, manifest_shards, read_image_set, read_manifest
from synthval.data.webdataset import read_tar_shard
from synthval.io import IntegrityError
from synthval.seeding import derive_seed

#: Rows decoded from a Parquet shard at a time (a row group of write_shard's).
RECORD_BATCH = ROW_GROUP
COLUMNS = ["key", "image", "label"]


def _check_rank(rank: int, world: int) -> None:
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in 0..{world - 1}")


class ShardStream(IterableDataset):
    """The images of a manifest's shards, one ``(key, image uint8 HWC, label)`` at a time.

    ``shuffle``/``buffer``/``seed``: see the module's notes; call :meth:`set_epoch` before each pass of a
    shuffled stream. ``rank``/``world``: this process's share under ``torch.distributed``. ``workers`` and
    ``prefetch``: how :func:`stream_batches` reads it unless told otherwise (DataLoader processes that
    decode it, 0 decoding in the reading one, and the batches each decodes ahead).
    """

    def __init__(
        self,
        manifest_path: str | Path,
        *,
        shuffle: bool = False,
        buffer: int = 0,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        verify: bool = True,
        workers: int = 0,
        prefetch: int = 2,
    ):
        _check_rank(rank, world)
        if buffer < 0:
            raise ValueError(f"shuffle buffer {buffer} is negative")
        self.manifest = str(manifest_path)
        self.shards = [(str(path), entry["count"]) for path, entry in manifest_shards(manifest_path, verify)]
        if not self.shards:
            raise IntegrityError(f"{manifest_path} lists no images")
        self.shuffle, self.buffer, self.seed = shuffle, buffer, seed
        self.rank, self.world, self.epoch = rank, world, 0
        self.workers, self.prefetch = workers, prefetch

    def __len__(self) -> int:
        """Images in the whole set (every rank together)."""
        return sum(count for _, count in self.shards)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def for_rank(self, rank: int, world: int) -> ShardStream:
        """The same stream read as rank ``rank`` of ``world`` (its shards only)."""
        _check_rank(rank, world)
        other = copy.copy(self)
        other.rank, other.world = rank, world
        return other

    def fewest_per_rank(self) -> int:
        """Images that every rank reads in any epoch, whatever the shard order: the smallest shards,
        as many as the rank dealt the fewest gets. Distributed training takes this many per rank per
        epoch, so that every rank takes the same number of steps."""
        counts = sorted(count for _, count in self.shards)  # a rank is dealt at least len // world shards
        return sum(counts[: len(counts) // self.world])

    def _worker(self) -> tuple[int, int]:
        info = get_worker_info()
        return (0, 1) if info is None else (info.id, info.num_workers)

    def assigned(self) -> list[str]:
        """The shards this reader (rank, and DataLoader worker when called in one) reads, in order: the
        epoch's shard order dealt out to the ranks, then a rank's shards to its workers (so a rank reads
        the same shards whatever its number of workers)."""
        worker, workers = self._worker()
        order = np.arange(len(self.shards))
        if self.shuffle:
            order = np.random.default_rng(derive_seed(self.seed, "shard order", self.epoch)).permutation(order)
        mine = order[self.rank :: self.world]
        return [self.shards[i][0] for i in mine[worker::workers]]

    def __iter__(self) -> Iterator[tuple[str, np.ndarray, int]]:
        rows = (row for shard in self.assigned() for row in read_rows(shard))
        if not (self.shuffle and self.buffer > 1):
            yield from rows
            return
        worker, _ = self._worker()
        rng = np.random.default_rng(derive_seed(self.seed, "shuffle buffer", self.epoch, self.rank, worker))
        pool: list[tuple[str, np.ndarray, int]] = []
        for row in rows:
            if len(pool) < self.buffer:
                pool.append(row)
                continue
            slot = int(rng.integers(len(pool)))
            pool[slot], row = row, pool[slot]
            yield row
        rng.shuffle(pool)
        yield from pool


def read_rows(shard: str | Path) -> Iterator[tuple[str, np.ndarray, int]]:
    """The rows of one shard, decoded one record batch at a time (a tar shard, which has no record
    batches, at once: write WebDataset shards of a size that fits)."""
    shard = Path(shard)
    if shard.suffix == ".tar":
        part = read_tar_shard(shard)
        yield from zip(part.keys, part.images, part.labels.tolist(), strict=True)
        return
    try:
        parquet = pq.ParquetFile(shard, page_checksum_verification=True)
        check_columns(shard, parquet.schema_arrow, COLUMNS)  # what read_image_set checks, before any row
        for batch in parquet.iter_batches(batch_size=RECORD_BATCH, columns=COLUMNS):
            keys = batch.column("key").to_pylist()
            blobs = batch.column("image").to_pylist()
            labels = batch.column("label").to_pylist()
            for key, blob, label in zip(keys, blobs, labels, strict=True):
                yield key, decode_png(blob["bytes"], shard, key), int(label)
    except (OSError, pa.ArrowException) as err:
        raise IntegrityError(f"{shard} cannot be read ({err}); delete it and rerun the job that writes it") from err


class ManifestImages:
    """A Parquet image set's images, decoded only where indexed: ``images[positions]`` (positions in
    :func:`read_image_set`'s order) decodes those rows alone, reading only the row groups that hold them
    (write_shard writes row groups of :data:`synthval.data.shards.ROW_GROUP` images). Its ``keys`` and
    ``labels`` are read up front without decoding an image. Stands in for a uint8 NHWC array where a job
    needs a few images of a set too large to hold (the real images a latent prior starts from)."""

    ndim, dtype = 4, np.dtype(np.uint8)

    def __init__(self, manifest_path: str | Path, verify: bool = True):
        self.manifest = str(manifest_path)
        self.shards = [path for path, _ in manifest_shards(manifest_path, verify)]
        keys, labels, counts, self.groups = [], [], [], []  # groups: each shard's row groups' first rows
        try:
            for shard in self.shards:
                parquet = pq.ParquetFile(shard, page_checksum_verification=True)
                check_columns(shard, parquet.schema_arrow, COLUMNS)
                table = parquet.read(columns=["key", "label"])
                keys += table.column("key").to_pylist()
                labels += table.column("label").to_pylist()
                sizes = [parquet.metadata.row_group(g).num_rows for g in range(parquet.num_row_groups)]
                self.groups.append(np.cumsum([0, *sizes]))
                counts.append(table.num_rows)
        except (OSError, pa.ArrowException) as err:
            raise IntegrityError(
                f"{manifest_path}: a shard cannot be read ({err}); rerun the job that writes it"
            ) from err
        self.keys, self.labels = keys, np.asarray(labels, np.int64)
        self.offsets = np.cumsum([0, *counts])  # each shard's first position in the set
        h, w, c = image_shape(manifest_path)
        self.shape = (len(keys), h, w, c)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, positions) -> np.ndarray:
        """The images at ``positions`` (an integer or an array of them), uint8 NHWC, in that order."""
        positions = np.atleast_1d(np.asarray(positions, np.int64))
        out = np.zeros((len(positions), *self.shape[1:]), np.uint8)
        shard_of = np.searchsorted(self.offsets, positions, side="right") - 1
        for s in np.unique(shard_of):
            shard = self.shards[s]
            parquet = pq.ParquetFile(shard, page_checksum_verification=True)
            picked = np.flatnonzero(shard_of == s)
            rows = positions[picked] - self.offsets[s]
            group_of = np.searchsorted(self.groups[s], rows, side="right") - 1
            for g in np.unique(group_of):
                table = parquet.read_row_group(int(g), columns=["key", "image"])
                for i, row in zip(picked[group_of == g], rows[group_of == g] - self.groups[s][g], strict=True):
                    key = table.column("key")[int(row)].as_py()
                    out[i] = decode_png(table.column("image")[int(row)].as_py()["bytes"], shard, key)
        return out


class ShardCycle:
    """An endless stream over a streamed set, ``k`` images at a time (:meth:`take`), as a training loop draws
    them: pass after pass of a :class:`ShardStream` (each pass
    its next epoch's order; a rank's pass, its own shards); its state is the pass and the images taken in
    it, so a resumed run reads on from the same image (decoding the images it skips). Decoded in the
    training process."""

    def __init__(self, stream: ShardStream, seed: int, device: torch.device):
        self.stream, self.seed, self.device = stream, seed, device
        self.n = len(stream)
        self.gen = torch.Generator().manual_seed(seed)
        self._start(0, 0)

    def _start(self, epoch: int, skip: int) -> None:
        self.epoch, self.taken = epoch, skip
        self.stream.set_epoch(epoch)
        self.rows = iter(self.stream)
        for _ in range(skip):
            next(self.rows)

    def take(self, k: int, with_keys: bool = False) -> tuple:
        """The next ``k`` images and labels (and their keys, ``with_keys``)."""
        rows: list = []
        while len(rows) < k:
            if (row := next(self.rows, None)) is None:  # the pass is over (a rank's pass: its shards)
                if self.taken == 0:
                    raise ValueError(
                        f"{self.stream.manifest}: this rank reads none of its shards (fewer shards than ranks)"
                    )
                self._start(self.epoch + 1, 0)
                continue
            rows.append(row)
            self.taken += 1
        keys, images, labels = collate_rows(rows)
        batch = images.permute(0, 3, 1, 2).contiguous().to(self.device), labels.to(self.device)
        return (*batch, keys) if with_keys else batch

    def state(self) -> dict:
        return {"gen": self.gen.get_state(), "epoch": torch.tensor(self.epoch), "taken": torch.tensor(self.taken)}

    def restore(self, state: dict) -> None:
        self.gen.set_state(state["gen"])
        self._start(int(state["epoch"]), int(state["taken"]))


def class_sample(
    stream: ShardStream, per_class: int, num_classes: int, one_class: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_class`` images of each class, the first of each class in the stream's order (its
    epoch 0: seeded when it is shuffled), read until every class has them: a seeded class-balanced
    sample of a set too large to hold. uint8 NHWC images and their labels (``one_class``: every image
    as class 0, ``num_classes`` 1)."""
    counts, rows = np.zeros(num_classes, np.int64), []
    if per_class > 0:
        first = copy.copy(stream)
        first.set_epoch(0)
        for key, image, label in first:
            row = (key, image, 0 if one_class else label)
            if counts[row[2]] < per_class:
                counts[row[2]] += 1
                rows.append(row)
                if (counts == per_class).all():
                    break
    if not rows:
        return np.zeros((0, *image_shape(stream.manifest)), np.uint8), np.zeros(0, np.int64)
    _, images, labels = collate_rows(rows)
    return images.numpy(), labels.numpy()


def collate_rows(rows: list[tuple[str, np.ndarray, int]]) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """A stream's rows as one batch: keys, uint8 NHWC images and int64 labels."""
    keys, images, labels = zip(*rows, strict=True)
    return list(keys), torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)


def image_shape(manifest_path: str | Path) -> tuple[int, int, int]:
    """(height, width, channels) of a set's images: from its manifest, or (a synthetic set's manifest,
    which does not record it) its first image."""
    manifest = read_manifest(manifest_path)
    if "image_shape" in manifest:
        return tuple(manifest["image_shape"])
    shard, _ = next(manifest_shards(manifest_path, verify=False))
    return next(read_rows(shard))[1].shape


def should_stream(manifest_path: str | Path, loading: dict) -> bool:
    """Whether a job trains from a set streamed: as the config's ``data.stream`` says (``loading``:
    synthval.plan.stage.Stage.loading), ``auto`` when its decoded pixels exceed ``stream_above_gb``."""
    if loading["stream"] != "auto":
        return loading["stream"] == "always"
    pixels = read_manifest(manifest_path)["count"] * math.prod(image_shape(manifest_path))
    return pixels > loading["stream_above_gb"] * 2**30


def training_images(
    manifest_path: str | Path, loading: dict, seed: int, streamed: bool | None = None
) -> tuple[np.ndarray | ShardStream, np.ndarray | None]:
    """A training set as :func:`synthval.classifiers.fit` takes it, ``(images, labels)``: a seeded shuffled
    stream (labels None) when it is too large to hold (:func:`should_stream`, or ``streamed`` as decided
    already), else decoded whole."""
    if streamed is None:
        streamed = should_stream(manifest_path, loading)
    if streamed:
        stream = ShardStream(
            manifest_path,
            shuffle=True,
            buffer=loading["shuffle_buffer"],
            seed=seed,
            workers=loading["loader_workers"],
            prefetch=loading["prefetch"],
        )
        return stream, None
    held = read_image_set(manifest_path)
    return held.images, held.labels


def stream_batches(
    stream: ShardStream,
    batch_size: int,
    *,
    workers: int | None = None,
    prefetch: int | None = None,
    pin_memory: bool = False,
) -> Iterator[ImageSet]:
    """The stream in batches of ``batch_size`` (the last may be short), decoded by ``workers`` DataLoader
    processes (0: in this one), ``prefetch`` batches ahead per worker (both the stream's own unless
    given), in pinned memory when asked (for a copy to CUDA that overlaps compute)."""
    workers = stream.workers if workers is None else workers
    prefetch = stream.prefetch if prefetch is None else prefetch
    # workers are forks: a spawned (or forkserver) worker would import the parent's __main__, which in a
    # workflow job is the Snakemake script itself
    forked = workers and "fork" in multiprocessing.get_all_start_methods()
    loader = DataLoader(
        stream,
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=collate_rows,
        pin_memory=pin_memory,
        prefetch_factor=prefetch if workers else None,
        persistent_workers=False,
        multiprocessing_context="fork" if forked else None,
    )
    for keys, images, labels in loader:
        yield ImageSet(keys, images.numpy(), labels.numpy())
