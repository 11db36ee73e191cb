"""Predictions of trained classifiers on evaluation sets, as tables."""

from synthval.evaluation.predict import predict, predict_under_attack, predict_with_loss, prediction_table

__all__ = ["predict", "predict_under_attack", "predict_with_loss", "prediction_table"]
