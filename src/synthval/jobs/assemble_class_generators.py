"""assemble_class_generators: one per-class generator from its trained one-class members."""

from __future__ import annotations

from typing import Any

from synthval.generators import PerClassGenerator, load_generator, save_generator
from synthval.io import read_metadata
from synthval.runtime import setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/assemble_class_generators.py."""
    log = setup(snakemake.threads, log_file=snakemake.log[0])
    paths = list(snakemake.input.members)
    model = PerClassGenerator.assemble([load_generator(path) for path in paths])
    records = [read_metadata(path)["record"] for path in paths]
    record = {
        "members": records,
        "train_split": records[0]["train_split"],
        "conditioning": "per_class",
        "chosen_step": [r["chosen_step"] for r in records],
        "selection": records[0]["selection"] + " (per class)",
    }
    save_generator(snakemake.output.weights, model, record)
    log.info("assembled %d class generators of family %s", len(paths), model.hparams["member"])
