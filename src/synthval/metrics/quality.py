"""Every quality metric of one synthetic set against the real train split, overall and per class, on
one feature space: FID, KID, precision/recall, density/coverage, PRD (F_8, F_1/8) and TV, ARC, MMD."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthval.metrics import BY_NAME, METRICS
from synthval.metrics.arc import arc
from synthval.metrics.frechet import frechet_distance, gaussian_stats
from synthval.metrics.kernel import kid, median_distance, mmd_rbf
from synthval.metrics.neighbours import manifold_metrics
from synthval.metrics.prd import prd
from synthval.schema import defaults

log = logging.getLogger("synthval.metrics")

_QUALITY = defaults("quality")

#: Metric names in report order; lower is better for the first group, higher for the second.


@dataclass
class QualitySettings:
    """The config's ``quality`` section, less the extractor keys. Defaults: the config schema's
    (synthval.schema)."""

    max_samples: int = _QUALITY["max_samples"]
    k_precision: int = _QUALITY["k_precision"]
    k_density: int = _QUALITY["k_density"]
    prd_clusters: int = _QUALITY["prd_clusters"]
    prd_runs: int = _QUALITY["prd_runs"]
    kid_subsets: int = _QUALITY["kid_subsets"]
    kid_subset_size: int = _QUALITY["kid_subset_size"]
    mmd_bandwidths: tuple[float, ...] = tuple(_QUALITY["mmd_bandwidths"])
    arc_eps_max: float = _QUALITY["arc_eps_max"]
    arc_epsilons: int = _QUALITY["arc_epsilons"]
    arc_steps: int = _QUALITY["arc_steps"]
    per_class: bool = _QUALITY["per_class"]

    @classmethod
    def from_config(cls, quality: dict[str, Any]) -> QualitySettings:
        fields = cls.__dataclass_fields__
        settings: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in quality.items() if k in fields
        }
        return cls(**settings)


def canonical(x: np.ndarray) -> np.ndarray:
    """The rows of ``x`` in lexicographic order: every seeded choice below (subsampling, k-means
    initialisation, ARC splits) then sees the same input whatever order the images came in."""
    x = np.asarray(x, np.float64)
    return x[np.lexsort(x.T[::-1])] if len(x) else x


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), n, replace=False))]


#: The metrics ``synthval score --metrics`` may choose, by group (each group computed as one).
GROUPS: dict[str, tuple[str, ...]] = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "prdc": ("precision", "recall", "density", "coverage"),
    "prd": ("prd_f8", "prd_f1_8", "tv", "tv_std", "tv_floor", "tv_floor_n"),
    "mmd": ("mmd",),
    "arc": ("arc",),
}


def compare(
    real: np.ndarray,
    fake: np.ndarray,
    settings: QualitySettings,
    seed: int,
    groups: tuple[str, ...] | None = None,
) -> tuple[dict[str, float], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """All metrics of ``fake`` against ``real`` features, and the PRD and ARC curves; with ``groups``
    (names of :data:`GROUPS`), those only, each with the value the whole computation gives it."""
    chosen = set(GROUPS) if groups is None else set(groups)
    if unknown := chosen - set(GROUPS):
        raise ValueError(f"unknown metric group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    rng = np.random.default_rng(seed)
    real = _subsample(canonical(real), settings.max_samples, rng)
    fake = _subsample(canonical(fake), settings.max_samples, rng)
    values: dict[str, float] = {"n_real": len(real), "n_fake": len(fake)}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if "fid" in chosen:
        values["fid"] = frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
    if "kid" in chosen:
        values["kid"], values["kid_std"] = kid(real, fake, settings.kid_subsets, settings.kid_subset_size, seed)
    if "prdc" in chosen:
        m = manifold_metrics(real, fake, settings.k_precision, settings.k_density)
        values.update(precision=m.precision, recall=m.recall, density=m.density, coverage=m.coverage)
    if "prd" in chosen:
        curve = prd(real, fake, settings.prd_clusters, settings.prd_runs, seed=seed)
        values.update(prd_f8=curve.f_8, prd_f1_8=curve.f_1_8, tv=curve.tv, tv_std=curve.tv_std)
        curves["prd"] = (curve.recall, curve.precision)
    if "mmd" in chosen:
        scale = median_distance(real, seed=seed)
        values["mmd"] = mmd_rbf(real, fake, [b * scale for b in settings.mmd_bandwidths])
    if "arc" in chosen:
        a = arc(real, fake, settings.arc_eps_max, settings.arc_epsilons, settings.arc_steps, seed=seed)
        values["arc"] = a.area
        curves["arc"] = (a.epsilons, a.accuracy)
    if "prd" in chosen:
        # the TV estimator's floor: the same PRD TV between two disjoint halves of the real set, each as large
        # as the synthetic set allows (Shoshan et al. 2023 Corollary 3.3 is only as sharp as this estimate)
        half = min(len(fake), len(real) // 2)
        order = rng.permutation(len(real))
        values["tv_floor"] = prd(
            real[order[:half]], real[order[half : 2 * half]], settings.prd_clusters, settings.prd_runs, seed=seed
        ).tv
        values["tv_floor_n"] = half
    if groups is None and set(values) != set(BY_NAME):  # the table's metrics are the ones the report names
        raise RuntimeError(f"computed {sorted(values)}, but synthval.metrics.METRICS names {sorted(BY_NAME)}")
    return {m.name: values[m.name] for m in METRICS if m.name in values}, curves


def quality_tables(
    real: np.ndarray,
    real_labels: np.ndarray,
    fake: np.ndarray,
    fake_labels: np.ndarray,
    settings: QualitySettings,
    seed: int,
    groups: tuple[str, ...] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Metric rows ``{class, metric, value}`` and curve rows ``{class, curve, x, y}``, for the whole
    sets (class ``all``) and, with ``per_class``, for each class present in both (``groups``: the metric
    groups to compute, :func:`compare`)."""
    scopes: list[tuple[str, np.ndarray, np.ndarray]] = [("all", real, fake)]
    if settings.per_class:
        minimum = max(settings.k_density, settings.k_precision) + 2
        for c in np.union1d(np.unique(real_labels), np.unique(fake_labels)):
            r, f = real[real_labels == c], fake[fake_labels == c]
            if min(len(r), len(f)) < minimum:
                log.warning(
                    "class %d: %d real and %d synthetic points, fewer than %d: no per-class metrics",
                    c,
                    len(r),
                    len(f),
                    minimum,
                )
                continue
            scopes.append((str(int(c)), r, f))
    rows, curve_rows = [], []
    seed %= 2**31  # numpy's legacy RandomState (KID) and scikit-learn take 32-bit seeds
    for i, (scope, r, f) in enumerate(scopes):
        values, curves = compare(r, f, settings, seed + i, groups)
        rows += [{"class": scope, "metric": k, "value": float(v)} for k, v in values.items()]
        for name, (x, y) in curves.items():
            curve_rows += [
                {"class": scope, "curve": name, "x": float(a), "y": float(b)} for a, b in zip(x, y, strict=True)
            ]
        shown = [(BY_NAME[k].display, values[k]) for k in ("fid", "tv", "precision", "recall", "arc") if k in values]
        log.info("%s: %s", scope, ", ".join(f"{name} {value:.3f}" for name, value in shown))
    return rows, curve_rows
