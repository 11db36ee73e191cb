"""Model selection with synthetic data: errors, rank preservation."""

from synthval.selection.ranking import model_errors, rank_correlation

__all__ = ["model_errors", "rank_correlation"]
