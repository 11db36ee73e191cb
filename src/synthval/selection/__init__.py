"""Model selection with synthetic data: errors, rank preservation."""

from synthval.selection.ranking import last_epoch, model_errors, rank_correlation

__all__ = ["last_epoch", "model_errors", "rank_correlation"]
