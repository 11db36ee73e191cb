"""train_classifier (and train_reference): train one classifier on a real split (train, or the standard
protocol's fit sub-split), keep its weights at the configured epochs and its per-epoch history."""

import shutil

import polars as pl

from synthval.classifiers import TrainSettings, create_classifier, fit
from synthval.data import read_image_set
from synthval.io import atomic_path, read_json
from synthval.runtime import setup

p = snakemake.params
log = setup(snakemake.threads, seed=p.seed, log_file=snakemake.log[0])
spec = p.spec
manifest = read_json(snakemake.input.train)
train = read_image_set(snakemake.input.train)
h, w, c = train.images.shape[1:]
model = create_classifier(spec["arch"], manifest["num_classes"], c, h, seed=p.seed, **spec["hparams"])
settings = TrainSettings(**spec["train"], save_epochs=p.save_epochs, seed=p.seed, extra={"split": snakemake.input.train, "name": p.name})
log.info("training %s (%s %s, seed %d) on %d images of %s for %d epochs", p.name, spec["arch"], spec["hparams"], p.seed, len(train),
         snakemake.input.train, settings.epochs)
history, snapshots = fit(model, train.images, train.labels, settings, p.workdir)
for epoch, out in zip(p.save_epochs, snakemake.output.weights, strict=True):
    with atomic_path(out) as tmp:
        shutil.copyfile(snapshots[epoch], tmp)
with atomic_path(snakemake.output.history) as tmp:
    pl.DataFrame(history).with_columns(model=pl.lit(p.name)).write_parquet(tmp)
shutil.rmtree(p.workdir)  # outputs are complete: the resume state has served its purpose
