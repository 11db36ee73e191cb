"""Cost of the pairwise-distance quality metrics at growing set sizes: wall time and peak resident
memory of each metric, run alone in a fresh process, against the memory one full N x N float64
distance matrix would take. The chunked computations keep memory flat in N.

    .venv/bin/python bench/metrics.py --sizes 10000 30000 100000 --threads 2 --out bench/results/metrics.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import emit, machine

#: metric -> the call, on real (N x d) and fake (N x d) features
METRICS = {
    "k-NN radii (k=3)": "neighbours.knn_radii(real, 3)",
    "precision/recall + density/coverage": "neighbours.manifold_metrics(real, fake)",
    "MMD (3 bandwidths)": "kernel.mmd_rbf(real, fake, [4.0, 8.0, 16.0])",
}

CHILD = """
import json, resource, sys, time
import numpy as np, torch
from synthval.metrics import kernel, neighbours
torch.set_num_threads({threads})
rng = np.random.default_rng(0)
real = rng.normal(size=({n}, {dim}))
fake = rng.normal(size=({n}, {dim})) + 0.1
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
{call}
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mib": peak / 1024, "before_mib": base / 1024}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=list(METRICS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        for name in args.metrics:
            code = CHILD.format(threads=args.threads, n=n, dim=args.dim, call=METRICS[name])
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            full = n * n * 8 / 2**20
            rows.append(
                [
                    f"{n:,} x {n:,}",
                    name,
                    f"{result['seconds']:.1f}",
                    f"{result['before_mib']:.0f}",
                    f"{result['peak_mib']:.0f}",
                    f"{full:,.0f}",
                ]
            )
            print(rows[-1], flush=True)
    emit(
        f"{machine(args.threads)}; features {args.dim}-d float64, blocks of 4096 x 4096",
        [
            "real x synthetic",
            "metric",
            "seconds",
            "RSS before (MiB)",
            "peak RSS (MiB)",
            "one full N x N float64 matrix (MiB)",
        ],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
