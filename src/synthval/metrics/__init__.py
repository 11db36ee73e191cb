"""Quality of a synthetic set against the real training split, computed on shared features: FID, KID,
precision/recall, density/coverage, PRD and total variation (:mod:`.prd`), ARC (:mod:`.arc`) and MMD."""

from synthval.metrics.features import extract_features
from synthval.metrics.frechet import FIDScore, frechet_distance, gaussian_stats
from synthval.metrics.kernel import kid, mmd_rbf
from synthval.metrics.neighbours import manifold_metrics
from synthval.metrics.quality import QualitySettings, quality_tables

__all__ = ["FIDScore", "QualitySettings", "extract_features", "frechet_distance", "gaussian_stats", "kid", "manifold_metrics", "mmd_rbf",
           "quality_tables"]
