"""Memory that does not grow with the data: peak resident memory and images/s of one training epoch,
prediction and feature extraction over a small and a ten-times larger image set, read whole
(``read_image_set``, the in-memory path) and streamed (``synthval.data.stream``: what the predict and
features rules always run, and what train_classifier runs for a split above ``data.stream_above_gb``).

    python bench/stream_memory.py [--sizes 20000 200000] [--size 32] [--threads 2] \
        [--out bench/results/stream_memory.md]

The sets are Parquet shards of 5,000 CIFAR-sized (32 px RGB) images in 10 classes written by
``write_sharded``: smooth random gradients with noise, so the shards are of realistic size. Each
measurement runs in a fresh interpreter (peak RSS is per process): load a small CNN (prediction) or use it
as the reference feature extractor (features), or train it for one epoch (``fit``, batch 128, random crops
and flips, as the zoo trains), run it over every image, and report ``ru_maxrss`` and the
wall time from the first read to the last output. The streamed path must keep peak RSS within 25% between
the two sizes; the in-memory path shows what it replaces.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARD = 5000
TASKS = ("train", "predict", "features")


def _write_set(folder: Path, n: int, size: int) -> Path:
    """``n`` images in Parquet shards of :data:`SHARD`, written shard by shard (the writer must not hold
    the set either), and their manifest."""
    from synthval.data.shards import write_manifest, write_shard

    rng = np.random.default_rng(n)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[None, :, None, None]
    paths = []
    for start in range(0, n, SHARD):
        count = min(SHARD, n - start)
        base = rng.uniform(0, 255, (count, 1, 1, 3)).astype(np.float32)
        slope = rng.uniform(-120, 120, (count, 1, 1, 3)).astype(np.float32)
        images = (base + slope * ramp + rng.normal(0, 6, (count, size, size, 3))).clip(0, 255).astype(np.uint8)
        keys = [f"i{i:07d}" for i in range(start, start + count)]
        paths.append(folder / f"shard-{start // SHARD:05d}.parquet")
        write_shard(paths[-1], keys, images, np.arange(start, start + count) % 10, "bench")
    write_manifest(folder / "manifest.json", paths, source="bench", num_classes=10, image_shape=[size, size, 3])
    return folder / "manifest.json"


def _child(task: str, mode: str, manifest: str, weights: str, threads: int) -> None:
    from synthval.classifiers import load_classifier
    from synthval.data import read_image_set
    from synthval.data.stream import ShardStream, stream_batches
    from synthval.evaluation.predict import BATCH_SIZE, predict
    from synthval.metrics.extractors import ReferenceExtractor
    from synthval.runtime import setup

    setup(threads)
    if task == "train":
        _train(mode, manifest, threads)
        return
    if task == "features":
        run, batch = ReferenceExtractor(weights), ReferenceExtractor.batch_size
    else:
        model = load_classifier(weights)[0]
        run, batch = (lambda x: predict(model, x)), BATCH_SIZE
    t0 = time.perf_counter()
    if mode == "memory":
        images = read_image_set(manifest)
        outputs, n = run(images.images), len(images)
    else:
        outputs, n = [], 0  # kept, as the rules keep them
        for part in stream_batches(ShardStream(manifest), batch):
            outputs.append(run(part.images))
            n += len(part)
    seconds = time.perf_counter() - t0
    del outputs
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images": n, "seconds": seconds, "peak_mb": peak}))


def _train(mode: str, manifest: str, threads: int) -> None:
    from synthval.classifiers import TrainSettings, create_classifier, fit
    from synthval.data import read_image_set
    from synthval.data.stream import ShardStream

    settings = TrainSettings(epochs=1, save_epochs=[1], seed=0, batch_size=128)
    model = create_classifier("cnn", 10, 3, 32, seed=0)
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        if mode == "memory":
            held = read_image_set(manifest)
            n = len(held)
            fit(model, held.images, held.labels, settings, work)
        else:
            stream = ShardStream(manifest, shuffle=True, buffer=10000, seed=0)
            n = len(stream)
            fit(model, stream, None, settings, work)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images": n, "seconds": seconds, "peak_mb": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[20000, 200000])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child, args.threads)
        return

    from report import emit, machine

    from synthval.classifiers import create_classifier, save_classifier

    rows, peaks = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "cnn.safetensors"
        save_classifier(weights, create_classifier("cnn", 10, 3, args.size, seed=0), epoch=1)
        for n in args.sizes:
            t0 = time.perf_counter()
            manifest = _write_set(Path(tmp) / f"set{n}", n, args.size)
            print(f"wrote {n} images in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            for task in TASKS:
                for mode in ("memory", "stream"):
                    cmd = [sys.executable, __file__, "--threads", str(args.threads), "--child", task, mode]
                    result = json.loads(subprocess.check_output([*cmd, str(manifest), str(weights)], text=True))
                    peaks[task, mode, n] = result["peak_mb"]
                    rows.append([task, mode, f"{n:,}", f"{result['peak_mb']:.0f}", f"{n / result['seconds']:.0f}"])
                    print(rows[-1], file=sys.stderr)
    small, large = args.sizes
    growth = [
        [task, mode, "", f"growth x{peaks[task, mode, large] / peaks[task, mode, small]:.2f}", ""]
        for task in TASKS
        for mode in ("memory", "stream")
    ]
    setting = (
        f"{machine(args.threads)}; {args.size} px RGB images in Parquet shards of {SHARD}; a small CNN: one "
        "training epoch (batch 128), prediction, and its features (reference extractor); each row a fresh process"
    )
    emit(setting, ["task", "read", "images", "peak RSS (MB)", "images/s"], rows + growth, args.out)
    for task in TASKS:
        ratio = peaks[task, "stream", large] / peaks[task, "stream", small]
        if ratio > 1.25:
            sys.exit(f"{task}: streamed peak RSS grew x{ratio:.2f} from {small} to {large} images (limit 1.25)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
