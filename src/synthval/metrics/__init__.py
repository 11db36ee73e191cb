"""Quality of a synthetic set against the real training split, computed on shared features."""

from synthval.metrics.features import extract_features
from synthval.metrics.frechet import FIDScore, frechet_distance, gaussian_stats

__all__ = ["FIDScore", "extract_features", "frechet_distance", "gaussian_stats"]
