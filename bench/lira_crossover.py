"""When per-image variances beat one fixed variance in LiRA's online attack: a simulation with a known truth,
run through the attack code the workflow runs (synthval.metrics.membership.evaluate), at growing numbers
of models; and the smallest number from which the per-image attack is the better one, which must be
``synthval.metrics.membership.PER_IMAGE_VARIANCE_MODELS`` (the report's headline attack follows it).

    python bench/lira_crossover.py [--replicates 10] [--images 2000] [--out bench/results/lira_crossover.md]

Generating model (Carlini et al. 2022 §IV: per-example Gaussians of the logit-scaled confidence): image i
has an OUT mean mu_i ~ N(2, 1.5^2), its own spread sigma_i = exp(N(log 0.8, 0.5^2)) (images differ in how
much their confidence varies across training runs, the reason for per-image variances), and a membership
shift delta_i = sigma_i |N(0, 1)| (a member's confidence is higher by up to a few of its own sds, more for
some images than others). A model's phi on image i is mu_i + delta_i [if a member] + sigma_i N(0, 1),
independently across models. M models on balanced halves (every image a member of M/2), each the target in
turn, as the workflow attacks. The oracle is the true likelihood ratio with the true mu, delta, sigma: the
best any attack can do on these data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from synthval.metrics.membership import PER_IMAGE_VARIANCE_MODELS, auc, balanced_halves, evaluate, roc_curve, tpr_at

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine

MODELS = (4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)


def simulate(n: int, models: int, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    mu = rng.normal(2.0, 1.5, n)
    sigma = np.exp(rng.normal(np.log(0.8), 0.5, n))
    delta = sigma * np.abs(rng.normal(0.0, 1.0, n))
    member = balanced_halves(n, models, seed)
    phi = mu + delta * member + sigma * rng.normal(0.0, 1.0, (models, n))
    return phi, member, (mu, delta, sigma)


def oracle(phi: np.ndarray, member: np.ndarray, truth: tuple) -> tuple[float, float]:
    """TPR at 1% FPR and AUC of the true likelihood ratio, pooled over targets as evaluate pools them."""
    mu, delta, sigma = truth
    scores = stats.norm.logpdf(phi, mu + delta, sigma) - stats.norm.logpdf(phi, mu, sigma)
    fpr, tpr = roc_curve(scores.ravel(), member.ravel())
    return tpr_at(fpr, tpr, 0.01), auc(fpr, tpr)


def run(replicates: int, n: int, seed: int) -> dict[int, dict[str, list[float]]]:
    results: dict[int, dict[str, list[float]]] = {}
    for models in MODELS:
        cells: dict[str, list[float]] = {}
        for r in range(replicates):
            rng = np.random.default_rng([seed, models, r])
            phi, member, truth = simulate(n, models, rng, seed + r)
            summary, _ = evaluate(phi, member)
            for row in summary.iter_rows(named=True):
                if row["attack"].startswith("online"):
                    cells.setdefault(row["attack"], []).append(row["tpr_at_1pct_fpr"])
            cells.setdefault("oracle", []).append(oracle(phi, member, truth)[0])
        results[models] = cells
        print(models, {k: round(float(np.mean(v)), 3) for k, v in cells.items()}, flush=True)
    return results


def crossover(results: dict[int, dict[str, list[float]]]) -> int:
    """The smallest number of models from which the per-image attack's mean TPR at 1% FPR is at least the
    fixed-variance attack's at every larger number simulated."""
    better = [
        m
        for m in MODELS
        if "online" in results[m] and np.mean(results[m]["online"]) >= np.mean(results[m]["online_fixed_variance"])
    ]
    for m in MODELS:
        if all(k in better for k in MODELS if k >= m):
            return m
    return MODELS[-1] * 2  # never within the sizes simulated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = run(args.replicates, args.images, args.seed)

    def cell(values: list[float] | None) -> str:
        if not values:
            return "not run (needs 2 IN and 2 OUT shadows an image)"
        return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.3f}"

    rows = [
        (
            str(m),
            str(m // 2 - 1),
            cell(results[m].get("online_fixed_variance")),
            cell(results[m].get("online")),
            cell(results[m]["oracle"]),
        )
        for m in MODELS
    ]
    found = crossover(results)
    rows.append(
        ("crossover", "", "", f"per-image variance from {found} models", f"in use: {PER_IMAGE_VARIANCE_MODELS}")
    )
    emit(
        f"{machine(1)}; {args.images} pool images, {args.replicates} replicates per size, TPR at 1% FPR pooled over "
        "every target (mean ± sd over replicates)",
        ["models", "shadows a side", "online, fixed variance", "online, per-image variance", "oracle (true ratio)"],
        rows,
        args.out,
    )
    if found != PER_IMAGE_VARIANCE_MODELS:
        sys.exit(
            f"the crossover is at {found} models; membership.PER_IMAGE_VARIANCE_MODELS is {PER_IMAGE_VARIANCE_MODELS}"
        )


if __name__ == "__main__":
    main()
