"""Predictions of trained classifiers on evaluation sets, as tables (:mod:`.predict`), and the training
study's tables (:mod:`.study`). Nothing is re-exported here, so the study's torch-free tables load
without torch (jobs that only read tables start in a fraction of a second)."""
