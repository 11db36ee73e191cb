"""Predictions of trained classifiers on evaluation sets, as tables."""

from synthval.evaluation.predict import predict, prediction_table

__all__ = ["predict", "prediction_table"]
