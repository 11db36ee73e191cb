"""train_generator and train_class_generator: fit one generator on one training split (never the test
split), scoring checkpoints with the reference classifier when ``eval_every`` > 0. What it trains and
how is the plan's spec (:func:`synthval.config.generator_spec`)."""

from synthval.classifiers import load_classifier
from synthval.data import read_image_set
from synthval.generators import conditioned_training_set, create_generator, save_generator, train_generator
from synthval.io import read_json
from synthval.metrics.frechet import FIDScore
from synthval.runtime import device, setup
from synthval.seeding import derive_seed

p = snakemake.params
log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
spec = p.spec
family, conditioning, arch, settings = (
    spec["family"],
    spec["conditioning"],
    dict(spec["architecture"]),
    spec["training"],
)
train = read_image_set(snakemake.input.train)
num_classes = read_json(snakemake.input.train)["num_classes"]
cls = getattr(p, "cls", None)
images, labels, keys, num_classes = conditioned_training_set(
    conditioning, train.images, train.labels, train.keys, num_classes, cls
)
if cls is not None:
    log.info("class %d: %d training images", cls, len(images))
h, w, c = images.shape[1:]
if "summary" in snakemake.input.keys() and arch.get("class_names") is None:  # prompts name the source's classes
    arch["class_names"] = read_json(snakemake.input.summary)["class_names"]
model = create_generator(family, num_classes, c, h, **arch)
if getattr(model, "latent_prior", False):  # scoring a checkpoint samples from the train split's latents
    model.set_prior(images, labels, keys)
score = None
if settings["eval_every"] > 0:
    reference, _ = load_classifier(snakemake.input.reference, device())
    score = FIDScore(reference, images, spec["eval_samples"], seed=derive_seed(p.seed, "score"))
log.info("training %s (%s) on %d images of %s", family, conditioning, len(images), snakemake.input.train)
record = train_generator(model, images, labels, seed=p.seed, resume_path=p.resume, score=score, **settings)
record.update(
    train_split=snakemake.input.train,
    conditioning=conditioning,
    score="FID in reference-classifier features vs the train split" if score else None,
)
save_generator(snakemake.output.weights, model.cpu(), record)
