"""train_generator and train_class_generator: fit one generator on one training split (never the test
split), scoring checkpoints with the reference classifier when ``eval_every`` > 0."""

import numpy as np

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.generators import create_generator, save_generator, split_settings, train_generator
from synthval.io import read_json
from synthval.metrics.frechet import FIDScore
from synthval.runtime import device, setup
from synthval.seeding import derive_seed

p = snakemake.params
log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
s = dict(p.settings)
family, conditioning, eval_samples = s.pop("family"), s.pop("conditioning"), s.pop("eval_samples")
num_classes = read_json(snakemake.input.train)["num_classes"]
train = read_image_set(snakemake.input.train)
images, labels = train.images, train.labels
if conditioning == "per_class":  # one class, trained as a one-class generator
    keep = labels == p.cls
    images, labels, num_classes = images[keep], np.zeros(int(keep.sum()), np.int64), 1
    log.info("class %d: %d training images", p.cls, len(images))
elif conditioning == "pseudo_label":  # unconditional: labels come from the reference classifier at synthesis
    labels, num_classes = np.zeros_like(labels), 1
h, w, c = images.shape[1:]
arch, settings = split_settings(family, s)
if "summary" in snakemake.input.keys() and arch.get("class_names") is None:  # prompts name the source's classes
    arch["class_names"] = read_json(snakemake.input.summary)["class_names"]
model = create_generator(family, num_classes, c, h, **arch)
if getattr(model, "latent_prior", False):  # scoring a checkpoint samples from the train split's latents
    model.set_prior(images, labels, train.keys)
score = None
if settings["eval_every"] > 0:
    reference, _ = load_classifier(snakemake.input.reference, device())
    score = FIDScore(reference, images, eval_samples, seed=derive_seed(p.seed, "score"))
log.info("training %s (%s) on %d images of %s", family, conditioning, len(images), snakemake.input.train)
record = train_generator(model, images, labels, seed=p.seed, resume_path=p.resume, score=score, **settings)
record.update(
    train_split=snakemake.input.train,
    conditioning=conditioning,
    score="FID in reference-classifier features vs the train split" if score else None,
)
save_generator(snakemake.output.weights, model.cpu(), record)
