"""Generators trained on a labelled training split, behind one interface (:mod:`.base`): the
``wgan_gp`` and ``sngan`` GANs (:mod:`.gans`), the ``ddpm`` diffusion model (:mod:`.ddpm`), per-class
assemblies (:mod:`.per_class`) and pseudo-labelling for unconditional ones (:mod:`.pseudo_label`)."""

from synthval.generators import ddpm, gans, per_class, stable_diffusion  # noqa: F401  (register their families)
from synthval.generators.base import (
    FamilyTrainer,
    Generator,
    conditioned_training_set,
    create_generator,
    list_generators,
    load_generator,
    sample_images,
    sample_with,
    save_generator,
    train_generator,
)
from synthval.generators.per_class import PerClassGenerator
from synthval.generators.pseudo_label import merge_stats, pseudo_labelled_sample

__all__ = [
    "FamilyTrainer",
    "Generator",
    "PerClassGenerator",
    "conditioned_training_set",
    "create_generator",
    "list_generators",
    "load_generator",
    "merge_stats",
    "pseudo_labelled_sample",
    "sample_images",
    "sample_with",
    "save_generator",
    "train_generator",
]
