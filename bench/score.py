"""``synthval score`` against torch-fidelity on the same two flat folders of PNGs and the same extractor
(the TF-compatible Inception-v3, weights drawn at random here, as published ones cannot be downloaded:
the cost does not depend on their values), FID only, in the same process: wall time of each, their ratio
and the two FIDs. Then ``synthval score``'s offline default (the seeded random VGG-16) with every metric.

    .venv/bin/python bench/score.py --images 200 --size 32 --threads 2 --out bench/results/score.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import emit, machine

from synthval.metrics.extractors import random_tf_inception_weights


def folders(root: Path, images: int, size: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    out = []
    for name, shift in (("real", 0), ("fake", 30)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(images):
            pixels = np.clip(rng.integers(0, 220, (size, size, 3)) + shift, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:05d}.png")
        out.append(folder)
    return out[0], out[1]


def synthval_score(*args: str) -> dict:
    from synthval.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["score", *args, "--json", "-"])
    if code:
        raise SystemExit(f"synthval score failed ({code})")
    return json.loads(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200, help="images in each folder")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from torch_fidelity import calculate_metrics

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="synthval-score-"))
    real, fake = folders(work, args.images, args.size)
    state = random_tf_inception_weights()
    torch.save(state, work / "inception.pth")  # torch-fidelity's own format
    save_file(state, str(work / "inception.safetensors"))
    common = ["--threads", str(args.threads), "--batch-size", str(args.batch_size)]
    start = time.perf_counter()
    theirs = calculate_metrics(
        input1=str(real),
        input2=str(fake),
        fid=True,
        cuda=False,
        cache=False,
        verbose=False,
        batch_size=args.batch_size,
        save_cpu_ram=True,  # no data-loader workers: one process, as synthval score
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(work / "inception.pth"),
    )["frechet_inception_distance"]
    fidelity_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = synthval_score(
        str(real),
        str(fake),
        "--extractor",
        "inception",
        "--weights",
        str(work / "inception.safetensors"),
        "--metrics",
        "fid",
        *common,
    )["metrics"]["all"]["fid"]
    synthval_s = time.perf_counter() - start
    start = time.perf_counter()
    offline = synthval_score(str(real), str(fake), *common)
    offline_s = time.perf_counter() - start
    n = 2 * args.images
    rows = [
        [
            "torch-fidelity `calculate_metrics(fid=True)`, inception-v3-compat",
            f"{fidelity_s:.1f}",
            f"{n / fidelity_s:.1f}",
            "1.00",
            f"FID {theirs:.6g}",
        ],
        [
            "`synthval score --extractor inception --metrics fid`",
            f"{synthval_s:.1f}",
            f"{n / synthval_s:.1f}",
            f"{synthval_s / fidelity_s:.2f}",
            f"FID {ours:.6g}",
        ],
        [
            "`synthval score` (offline default: random VGG-16), every metric",
            f"{offline_s:.1f}",
            f"{n / offline_s:.1f}",
            f"{offline_s / fidelity_s:.2f}",
            f"FID {offline['metrics']['all']['fid']:.4g}, {len(offline['metrics']['all'])} values",
        ],
    ]
    setting = (
        f"{machine(args.threads)}; two flat folders of {args.images} {args.size}x{args.size} RGB PNGs, batch "
        f"{args.batch_size}, in one process (torch-fidelity without data-loader workers)"
    )
    text = emit(setting, ["what", "wall s", "images/s", "ratio to torch-fidelity", "result"], rows, None)
    text += (
        f"\nThe two FIDs differ by {abs(ours - theirs) / theirs:.1e} (relative): the same network and resize. "
        "The random VGG-16's numbers are on another scale and compare only with its own.\n"
    )
    if args.out:
        args.out.write_text(text)
    print(text.splitlines()[-1])


if __name__ == "__main__":
    main()
