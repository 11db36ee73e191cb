"""score_shift: every run and seed of the study scored on the clean test split and on every shifted test
set (Yuan et al. 2024 §4.4): accuracy per run, seed, shift and severity (0: clean or a user's set)."""

from __future__ import annotations

from typing import Any

import polars as pl

from synthval.classifiers import load_classifier
from synthval.data.corruptions import severity_of
from synthval.evaluation.predict import predict_set
from synthval.evaluation.robustness import CLEAN
from synthval.io import write_frame
from synthval.runtime import device, setup


def run(snakemake: Any) -> None:
    """The job, from the ``snakemake`` object Snakemake hands workflow/scripts/score_shift.py."""
    p = snakemake.params
    log = setup(snakemake.threads, log_file=snakemake.log[0], accelerator=p.accelerator)
    sets = {CLEAN: snakemake.input.test} | dict(zip(p.shifts, snakemake.input.shifts, strict=True))
    models = {  # every run's seeds, in the order of the weights input; each set is streamed once for them all
        (run, seed): load_classifier(weights, device())[0]
        for (run, seed), weights in zip([(r, s) for r in p.runs for s in p.seeds], snakemake.input.weights, strict=True)
    }
    rows = []
    for shift, manifest in sets.items():
        keys, labels, outcomes = predict_set(models, manifest)
        severity = severity_of(keys) if shift in p.corruptions else [0] * len(keys)
        for (run, seed), (pred, _) in outcomes.items():
            frame = pl.DataFrame({"severity": severity, "correct": pred == labels})
            for row in (
                frame.group_by("severity").agg(accuracy=pl.col("correct").mean(), images=pl.len()).iter_rows(named=True)
            ):
                rows.append({"run": run, "seed": seed, "shift": shift, **row})
        log.info("%s: %d models scored", shift, len(models))
    table = pl.DataFrame(rows).sort("run", "seed", "shift", "severity")
    write_frame(snakemake.output.scores, table)
    log.info("%d runs x %d seeds scored on %d sets", len(p.runs), len(p.seeds), len(sets))
