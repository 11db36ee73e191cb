"""Generators trained on a labelled training split, behind one interface (:mod:`.base`)."""

from synthval.generators.base import (
    Generator,
    create_generator,
    list_generators,
    load_generator,
    sample_images,
    save_generator,
    train_generator,
)
from synthval.generators import wgan_gp  # noqa: F401  (registers itself)

__all__ = [
    "Generator",
    "create_generator",
    "list_generators",
    "load_generator",
    "sample_images",
    "save_generator",
    "train_generator",
]
