"""Quality of a synthetic set against the real training split, computed on shared features: FID, KID,
precision/recall, density/coverage, PRD and total variation, ARC and MMD."""

from synthval.metrics.arc import arc
from synthval.metrics.features import extract_features
from synthval.metrics.frechet import FIDScore, frechet_distance, gaussian_stats
from synthval.metrics.kernel import kid, mmd_rbf
from synthval.metrics.neighbours import manifold_metrics
from synthval.metrics.prd import prd
from synthval.metrics.quality import QualitySettings, quality_tables

__all__ = ["FIDScore", "QualitySettings", "arc", "extract_features", "frechet_distance", "gaussian_stats", "kid", "manifold_metrics",
           "mmd_rbf", "prd", "quality_tables"]
