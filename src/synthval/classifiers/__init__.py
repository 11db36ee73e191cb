"""The classifier zoo: a registry of architectures (:func:`create_classifier`) and the trainer."""

from synthval.classifiers import models, randwire, timm_models  # noqa: F401  (register the architectures)
from synthval.classifiers.registry import (
    Classifier,
    create_classifier,
    list_classifiers,
    load_classifier,
    save_classifier,
    state_digest,
)
from synthval.classifiers.trainer import Guidance, TrainSettings, fit

__all__ = [
    "Classifier",
    "Guidance",
    "TrainSettings",
    "create_classifier",
    "fit",
    "list_classifiers",
    "load_classifier",
    "save_classifier",
    "state_digest",
]
