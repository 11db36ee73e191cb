"""copy_detection: each synthetic image's nearest train-split image in the quality extractor's features,
and the test split's unseen real images' the same way (the reference a memorising generator exceeds)."""

from synthval.data.shards import read_keys
from synthval.io import load_tensors, write_frame
from synthval.metrics.copies import HELD_OUT, SYNTHETIC, copy_summary, copy_table
from synthval.runtime import setup

log = setup(snakemake.threads, log_file=snakemake.log[0])
i = snakemake.input


def loaded(features, manifest):
    return load_tensors(features)[0]["features"].numpy(), read_keys(manifest)


train, train_keys = loaded(i.train, i.train_images)
table = copy_table(
    train,
    train_keys,
    {SYNTHETIC: loaded(i.synthetic, i.synthetic_images), HELD_OUT: loaded(i.held_out, i.held_out_images)},
)
write_frame(snakemake.output.table, table)
log.info("%s", copy_summary(table))
