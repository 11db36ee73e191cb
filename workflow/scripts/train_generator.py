"""train_generator: fit one generator on one training split (never the test split)."""

from synthval.data import read_image_set
from synthval.generators import create_generator, save_generator, train_generator
from synthval.io import read_json
from synthval.runtime import setup

log = setup(snakemake.threads, seed=snakemake.params.seed, log_file=snakemake.log[0])
s = dict(snakemake.params.settings)
manifest = read_json(snakemake.input.train)
train = read_image_set(snakemake.input.train)
h, w, c = train.images.shape[1:]
model = create_generator(s.pop("family"), manifest["num_classes"], c, h, width=s.pop("width"), latent_dim=s.pop("latent_dim"))
log.info("training %s on %d images of %s", model.family, len(train), snakemake.input.train)
record = train_generator(model, train.images, train.labels, seed=snakemake.params.seed, resume_path=snakemake.params.resume, **s)
save_generator(snakemake.output.weights, model.cpu(), {**record, "train_split": snakemake.input.train})
