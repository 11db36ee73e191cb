"""Integration tests: drive the Snakemake CLI on the tiny config in a temporary directory."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import polars as pl
import pytest
import torch
import yaml
from snakemake_runs import GENERATORS, ROOT, TINY, dry_run_jobs_for_output, run_watched, snakemake

from synthval.data import read_image_set
from synthval.io import load_tensors, read_metadata, sha256_file
from synthval.plan.paths import (
    RESULTS,
    augmented_manifest,
    classifier_weights,
    data_manifest,
    errors_table,
    features_file,
    generator_weights,
    log_path,
    path,
    quality_curves,
    quality_table,
    rank_table,
    recipe_file,
    report_html,
    selection_table,
    synthetic_manifest,
    synthetic_shard,
    train_pool_manifest,
    training_table,
    webdataset_manifest,
    worth_table,
)
from synthval.report.html import column_format
from synthval.selection.protocols import PAIRED_UNIT

pytestmark = pytest.mark.integration


def dry_run_jobs(workdir):
    """Rule name -> count of the jobs a dry run would execute."""
    return dry_run_jobs_for(workdir, TINY)


def dry_run_jobs_for(workdir, config):
    return dry_run_jobs_for_output(snakemake(workdir, "-n", "--quiet", "rules", config=config).stdout)


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run


def test_lint_is_clean(tmp_path):
    proc = snakemake(tmp_path, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


def test_dry_run_plans_every_stage(tmp_path):
    jobs = dry_run_jobs(tmp_path)
    assert jobs == {
        "prepare_data": 1,
        "train_reference": 1,
        "train_generator": 3,
        "train_class_generator": 10,
        "assemble_class_generators": 1,
        "synthesize_shard": 8,
        "index_synthetic": 4,
        "plot_samples": 4,
        "convert_webdataset": 8,
        "index_webdataset": 4,
        "augment_split": 2,
        "train_classifier": 3,
        "predict": 3,
        "rank_models": 1,
        "features": 6,  # the train and test splits and the 4 synthetic sets
        "quality": 4,
        "copy_detection": 4,
        "plot_copies": 1,
        "select_models": 1,
        "plot_results": 1,
        "render_report": 1,
        "synthesize_train_shard": 2,
        "index_train_pool": 2,
        "train_recipe": 16,
        "summarize_training": 1,
        "lira_halves": 1,  # LiRA: 4 models per attacked run (real, synthetic-wgan), a WGAN-GP per pool half
        "train_lira_generator": 4,
        "synthesize_lira_shard": 4,
        "index_lira_synthetic": 4,
        "train_lira": 8,
        "lira": 1,
        "shift_split": 2,  # two corruptions of the test split
        "score_shift": 1,
        "summarize_robustness": 1,
        "all": 1,
    }


def test_variants_of_other_lengths_train_in_their_own_rule(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["zoo"]["variants"] = {"base": {}, "short": {"epochs": 1}, "long": {"epochs": 3, "lr": 0.1}}
    path = tmp_path / "variants.yaml"
    path.write_text(yaml.safe_dump(config))
    jobs = dry_run_jobs_for(tmp_path, path)
    # one job per configuration (architecture x variant) trains all its seeds on both splits
    assert jobs["train_classifier"] == jobs["train_classifier_1ep"] == jobs["train_classifier_3ep"] == 3
    assert jobs["predict"] == 9
    out = snakemake(tmp_path, "-n", classifier_weights("train300", "mlp-long-s0", "003"), config=path).stdout
    assert "rule train_classifier_3ep:" in out


def test_full_run_writes_the_report_and_consistent_tables(run):
    html = (run / report_html()).read_text()
    for section in (
        "Data and splits",
        "Generators",
        "Synthetic-data quality",
        "Classifier zoo",
        "Rank preservation",
        "Selection protocols",
        "Calibration",
        "Corollary 3.3",
        "Findings",
    ):
        assert section in html
    assert "http://" not in html
    assert "https://" not in html
    errors = pl.read_parquet(run / errors_table("train300"))
    # every member: 6 on train, 6 on fit (validated on val, the real baseline)
    assert set(errors["eval_set"]) == {"test", "val", "augmented", *GENERATORS}
    assert errors["model"].n_unique() == 12
    fit = pl.col("model").str.ends_with("-fit")
    assert set(errors.filter(pl.col("eval_set") == "val")["model"]) == set(errors.filter(fit)["model"])
    test_rows = errors.filter(pl.col("eval_set") == "test")
    assert (test_rows["n"] == 1797 - 300).all()
    assert (errors.filter(pl.col("eval_set") == "wgan")["n"] == 120).all()
    assert (errors.filter(pl.col("eval_set") == "augmented", ~fit)["n"] == 300).all()  # one copy of each train image
    rank = pl.read_parquet(run / rank_table("train300"))
    assert set(rank["question"]) == {"pooled", "architecture", "hyper-parameters", "seed"}
    for row in rank.filter(pl.col("question") != "hyper-parameters").head(6).iter_rows(named=True):
        if row["spearman"] == row["spearman"]:
            assert f"{row['spearman']:.3f}" in html, row
    for name in ("wgan", "sngan_pc", "ddpm"):  # class-balanced: 12 per class
        labels = read_image_set(run / synthetic_manifest("train300", name)).labels
        assert np.bincount(labels).tolist() == [12] * 10, name
        assert f'alt="samples of {name}"' in html


def test_quality_metrics_for_every_synthetic_set(run):
    html = (run / report_html()).read_text()
    features = read_metadata(run / features_file("train300", "train"))
    assert features["extractor"] == "reference"
    assert features["count"] == 300
    assert features["trained_on"] == "train split"
    fids = [
        pl.read_parquet(run / quality_table("train300", g)).filter(pl.col("class") == "all", pl.col("metric") == "fid")
        for g in GENERATORS
    ]
    written = column_format("FID", pl.concat(fids)["value"])  # the report's digits for the FID column
    for name in GENERATORS:
        table = pl.read_parquet(run / quality_table("train300", name))
        overall = dict(table.filter(pl.col("class") == "all").select("metric", "value").iter_rows())
        assert {
            "fid",
            "kid",
            "precision",
            "recall",
            "density",
            "coverage",
            "prd_f8",
            "prd_f1_8",
            "tv",
            "arc",
            "mmd",
        } <= overall.keys()
        assert overall["n_real"] == 300
        assert 0 <= overall["tv"] <= 1
        assert 0 <= overall["precision"] <= 1
        if name != "ddpm_pl":  # 12 synthetic images per class: every class is measured (pseudo-labels keep only a few)
            assert set(table["class"]) == {"all", *map(str, range(10))}, name
        assert f'<td class="n">{written(overall["fid"])}</td>' in html
        curves = pl.read_parquet(run / quality_curves("train300", name))
        assert set(curves["curve"]) == {"prd", "arc"}
    assert 'aria-label="PRD and ARC curves, train300"' in html
    assert "reference</b> extractor" in html


def test_selection_protocols_calibration_and_corollary_tables(run):
    protocols = pl.read_parquet(run / selection_table("train300", "protocols"))
    assert set(protocols["eval_set"]) == {"augmented", *GENERATORS}
    assert set(protocols["protocol"]) == {
        "baseline (last epoch, any seed)",
        "ES",
        "RSS",
        "ES + RSS",
        "random model",
        "standard protocol",
        "synthetic protocol",
        "oracle",
        "synthetic minus standard",
        "ES minus baseline",
        "RSS minus baseline",
        "ES + RSS minus baseline",
    }
    assert set(protocols["group"]) == {"all", "standard", "randomly wired"}  # mlp and resnet8 apart from rwnn00
    scored = protocols.filter(~pl.col("protocol").str.contains(" minus "))
    assert (scored["regret"] >= -1e-12).all()
    assert (
        protocols.filter(pl.col("low").is_not_nan())["low"] <= protocols.filter(pl.col("low").is_not_nan())["high"]
    ).all()
    assert set(protocols["interval_unit"]) == {"configurations", PAIRED_UNIT}
    rank = pl.read_parquet(run / rank_table("train300"))
    assert {("val", "fit members"), ("val", "configurations (fit on val vs train on test)")} <= set(
        rank.select("eval_set", "ranked").rows()
    )
    oracle = protocols.filter(pl.col("protocol") == "oracle", pl.col("group") == "all")["test_error"]
    errors = pl.read_parquet(run / errors_table("train300")).filter(
        pl.col("eval_set") == "test", ~pl.col("model").str.ends_with("-fit")
    )
    assert (oracle == errors["error"].min()).all()  # the oracle is the best test error of any train member and epoch
    assert (
        protocols.filter(pl.col("protocol") == "oracle")["test_error"] >= errors["error"].min()
    ).all()  # a group's is no better
    calibration = pl.read_parquet(run / selection_table("train300", "calibration"))
    pooled = calibration.filter(pl.col("group") == "all")
    assert set(pooled["calibration_models"]) == {1, 5, 6}
    assert (pooled["evaluation_models"] == 6).all()
    # the change of rho, paired on the same configurations: a Zou interval where rho is defined on both sides
    defined = pooled.filter(pl.col("change_low").is_not_nan())  # none below 4 configurations
    assert (defined["change_low"] <= defined["change"]).all()
    assert (defined["change"] <= defined["change_high"]).all()
    worth = pl.read_parquet(run / worth_table("train300"))
    assert set(worth["eval_set"]) == {"augmented", *GENERATORS}
    assert (worth["scoring_images"] > 0).all()
    # one operating point per generator and group, the same point in every group, chosen without the test split
    points = calibration.filter(pl.col("chosen"))
    assert points.group_by("generator", "group").len()["len"].to_list() == [1] * points.height
    assert points.select("generator", "calibration_models", "ridge").unique().height == points["generator"].n_unique()
    assert set(points["chosen_by"]) == {"leave-one-model-out on the calibration models' val errors"}
    corollary = pl.read_parquet(run / selection_table("train300", "corollary"))
    assert (corollary["pairs"] == 15).all()
    assert (corollary["pairs_above_tv"] + corollary["pairs_below_tv"] == 15).all()
    assert (corollary["pairs_above_2tv"] <= corollary["pairs_above_tv"]).all()
    assert (corollary["tv_floor"] > 0).all()
    html = (run / report_html()).read_text()
    assert "val</b> split, never the test split" in html


def test_generator_records_name_the_kept_checkpoint(run):
    records = {g: read_metadata(run / generator_weights("train300", g))["record"] for g in GENERATORS}
    for name, steps in (("wgan", [3, 6]), ("ddpm", [2, 4])):  # eval_every 3 and 2 in the tiny config
        record = records[name]
        assert [s["step"] for s in record["scores"]] == steps
        assert record["selection"] == "lowest score"
        assert record["chosen_step"] == min(record["scores"], key=lambda s: s["score"])["step"]
    assert len(records["sngan_pc"]["members"]) == 10
    assert records["sngan_pc"]["selection"] == "last step (per class)"
    assert records["ddpm_pl"]["conditioning"] == "pseudo_label"


def test_pseudo_labelled_set_records_kept_fractions(run):
    path = run / synthetic_manifest("train300", "ddpm_pl")
    manifest = json.loads(path.read_text())
    stats, labels = manifest["pseudo_labels"], read_image_set(path).labels
    assert stats["confidence"] == 0.15
    assert stats["drawn"] >= len(labels) > 0
    assert [r["used"] for r in stats["per_class"]] == np.bincount(labels, minlength=10).tolist()
    assert all(
        r["used"] <= r["confident"] <= r["predicted"] and r["used"] <= r["quota"] == 12 for r in stats["per_class"]
    )
    assert "Pseudo-labels from the reference classifier" in (run / report_html()).read_text()


def test_fit_members_train_on_fit_and_are_validated_on_val(run):
    predictions = run / RESULTS / "predictions" / "train300"
    assert sorted(p.name for p in predictions.glob("rwnn00-*")) == [
        "rwnn00-base-s0-fit.parquet",
        "rwnn00-base-s0.parquet",
        "rwnn00-base-s1-fit.parquet",
        "rwnn00-base-s1.parquet",
    ]
    fit = pl.read_parquet(predictions / "resnet8-base-s1-fit.parquet")
    assert set(fit["eval_set"]) == {"test", "val", "augmented", *GENERATORS}
    assert set(pl.read_parquet(predictions / "resnet8-base-s1.parquet")["eval_set"]) == {
        "test",
        "augmented",
        *GENERATORS,
    }
    # a fit member's augmented set is its own 225-image fit split, augmented
    augmented = read_image_set(run / augmented_manifest("train300", "fit"))
    fit_keys = set(read_image_set(run / data_manifest("train300", "fit")).keys)
    assert len(augmented) == 225
    assert {k.removesuffix("-aug0") for k in augmented.keys} == fit_keys
    assert fit.filter(pl.col("eval_set") == "augmented", pl.col("epoch") == 2).height == 225
    log = (run / log_path("train_classifier", "train300", "resnet8-base")).read_text()
    assert "training resnet8-base-s0-fit, resnet8-base-s1-fit (" in log
    assert f"on 225 images of {data_manifest('train300', 'fit')}" in log
    assert "training resnet8-base-s0, resnet8-base-s1 (" in log
    assert f"on 300 images of {data_manifest('train300', 'train')}" in log
    errors = pl.read_parquet(run / errors_table("train300"))
    # the fit members are ranked only by val (the real baseline); the selection sets rank the train members
    rank = pl.read_parquet(run / rank_table("train300")).filter(pl.col("group") == "all")
    counts = dict(rank.select(pl.concat_str("eval_set", "ranked", separator="/"), "n_models").iter_rows())
    assert counts["val/fit members"] == errors.filter(pl.col("model").str.ends_with("-fit"))["model"].n_unique() == 6
    assert counts["wgan/train members"] == counts["augmented/train members"] == 6


def test_webdataset_shards_hold_the_same_images(run):
    parquet = read_image_set(run / synthetic_manifest("train300", "wgan"))
    tar = read_image_set(run / webdataset_manifest("train300", "wgan"))
    assert parquet.keys == tar.keys
    np.testing.assert_array_equal(parquet.images, tar.images)
    np.testing.assert_array_equal(parquet.labels, tar.labels)


def test_datasets_and_webdataset_read_the_shards(run, tmp_path, monkeypatch):
    """The shards open in the ecosystem's own readers: Hugging Face datasets gives images and named
    labels, webdataset the images, labels and provenance."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets
    import webdataset

    ours = read_image_set(run / synthetic_manifest("train300", "wgan"))
    folder = (run / synthetic_manifest("train300", "wgan")).parent
    hf = datasets.load_dataset(
        "parquet", data_files=sorted(map(str, folder.glob("*.parquet"))), split="train", cache_dir=str(tmp_path)
    )
    assert isinstance(hf.features["image"], datasets.Image)
    assert hf.features["label"].names == [str(c) for c in range(10)]  # the digits' class names
    assert hf["key"] == ours.keys
    assert hf["label"] == ours.labels.tolist()
    np.testing.assert_array_equal(np.stack([np.asarray(im)[..., None] for im in hf["image"]]), ours.images)
    test = datasets.load_dataset(
        "parquet", data_files=str(run / RESULTS / "data" / "train300" / "test" / "*.parquet"), cache_dir=str(tmp_path)
    )["train"]
    assert test.features["label"].names == hf.features["label"].names
    assert test.features["seed"].dtype == "int64"

    tars = (run / webdataset_manifest("train300", "wgan")).parent
    samples = list(webdataset.WebDataset(sorted(map(str, tars.glob("*.tar"))), shardshuffle=False).decode("pil"))
    assert [s["__key__"] for s in samples] == ours.keys
    assert [s["cls"] for s in samples] == ours.labels.tolist()
    assert all(s["json"]["generator"] == "wgan" and s["json"]["key"] == s["__key__"] for s in samples)
    grey = np.stack([np.asarray(s["png"].convert("L"))[..., None] for s in samples])
    np.testing.assert_array_equal(grey, ours.images)


def test_test_split_never_reaches_the_generator(run):
    train = pl.read_parquet(run / RESULTS / "data" / "train300" / "train" / "*.parquet")["key"]
    test = pl.read_parquet(run / RESULTS / "data" / "train300" / "test" / "*.parquet")["key"]
    assert not set(train) & set(test)
    logs = run / RESULTS / "logs"
    generator_logs = [
        *(logs / "train_generator").rglob("*.log"),
        *(logs / "train_class_generator").rglob("*.log"),
        *(logs / "train_reference").rglob("*.log"),
    ]
    assert len(generator_logs) == 3 + 10 + 1
    for log in generator_logs:
        text = log.read_text()
        assert "train300/train/manifest.json" in text, log
        assert "/test/" not in text, log


def test_training_study_runs_every_method_and_summarises_it(run):
    accuracy = pl.read_parquet(run / training_table("train300", "accuracy"))
    runs = {
        "real",
        "synthetic-wgan",
        "augmentation-wgan",
        "zero_ratio-wgan",
        "two_stage-wgan",
        "real_guidance-wgan",
        "pg_both-wgan",
        "synthetic_x2-wgan",
    }
    assert set(accuracy["run"]) == runs
    test_count = json.loads((run / data_manifest("train300", "test")).read_text())["count"]
    for eval_set in ("test", "test_pgd"):  # the robust setting adds accuracy under PGD
        rows = accuracy.filter(pl.col("eval_set") == eval_set)
        assert rows.height == 2 * len(runs)
        assert set(rows["n"]) == {test_count}
    # ratio 0 is real-only training, bit for bit: the same weights and the same predictions
    for seed in (0, 1):
        real, zero = (
            load_tensors(run / recipe_file("train300", name, seed, "classifier.safetensors"))[0]
            for name in ("real", "zero_ratio-wgan")
        )
        assert all(torch.equal(real[k], zero[k]) for k in real)
        predictions = [
            pl.read_parquet(run / recipe_file("train300", name, seed, "predictions.parquet"))
            .filter(pl.col("eval_set") == "test")
            .drop("run")
            for name in ("real", "zero_ratio-wgan")
        ]
        assert predictions[0].equals(predictions[1])
    # every run of one seed starts from the same weights, Pretrained Guidance (whose guide is loaded first) included
    for seed in (0, 1):
        starts = {
            name: pl.read_parquet(run / recipe_file("train300", name, seed, "history.parquet"))["init_sha256"]
            .unique()
            .to_list()
            for name in ("real", "pg_both-wgan", "augmentation-wgan", "synthetic-wgan")
        }
        assert all(v == starts["real"] for v in starts.values()), starts
        assert len(starts["real"]) == 1, starts
    assert starts["real"] != [
        pl.read_parquet(run / recipe_file("train300", "real", 0, "history.parquet"))["init_sha256"][0]
    ]  # seeds differ
    # synthetic training images are their own set: a train-size multiple per shard, none of the validation set's
    pool = read_image_set(run / train_pool_manifest("train300", "wgan", 2))
    validation = read_image_set(run / synthetic_manifest("train300", "wgan"))
    assert len(pool) == 2 * 300
    assert not set(pool.keys) & set(validation.keys)
    assert np.bincount(pool.labels[:300]).tolist() == [30] * 10
    # the content gap: synthetic samples under the real-trained runs, real train samples under the
    # synthetic-trained ones
    gap = pl.read_parquet(run / training_table("train300", "content_gap"))
    counts = {d: g.height for (d,), g in gap.group_by(["direction"])}
    assert counts == {"synthetic under real": 2 * 300, "real under synthetic": 2 * 300}
    train_keys = set(pl.read_parquet(run / RESULTS / "data" / "train300" / "train" / "*.parquet")["key"])
    assert set(gap.filter(pl.col("direction") == "real under synthetic")["key"]) == train_keys
    # every run's job log: trained first, then scored; the history of a two-stage run has both stages
    history = pl.read_parquet(run / recipe_file("train300", "two_stage-wgan", 0, "history.parquet"))
    assert history["stage"].to_list() == ["synthetic", "real"]
    for log in (run / RESULTS / "logs" / "train_recipe" / "train300").rglob("*.log"):
        text = log.read_text()
        assert text.index("epoch 1/1") < text.index("test: accuracy"), log


def test_rerun_does_nothing(run):
    proc = snakemake(run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_editing_library_code_reruns_exactly_the_jobs_that_run_it(run, tmp_path):
    # a copy of the library, imported first: its edits must rerun only the jobs whose scripts import
    # the edited module, and a docstring or comment edit must rerun nothing
    shutil.copytree(ROOT / "src" / "synthval", tmp_path / "src" / "synthval")
    env = {"PYTHONPATH": str(tmp_path / "src")}

    def planned():
        proc = snakemake(run, "-n", env=env)
        jobs = dry_run_jobs_for_output(proc.stdout)
        return jobs, proc.stdout

    assert planned()[0] == {}
    build = tmp_path / "src" / "synthval" / "report" / "build.py"
    build.write_text(
        build.read_text().replace('"""Assemble the report', '"""Assemble (edited docstring) the report')
        + "\n# a comment\n"
    )
    assert planned()[0] == {}
    build.write_text(build.read_text() + "\nEDITED = True\n")
    jobs, out = planned()
    assert jobs == {"render_report": 1, "all": 1}, jobs
    assert "Params have changed since last execution" in out
    protocols = tmp_path / "src" / "synthval" / "selection" / "protocols.py"
    protocols.write_text(protocols.read_text() + "\nEDITED = True\n")
    assert planned()[0] == {
        "render_report": 1,
        "select_models": 1,
        "plot_results": 1,
        "all": 1,
    }  # its figures read selection tables too
    # a stage's plan module: the jobs it plans rerun (and what reads their outputs), no others
    plan = tmp_path / "src" / "synthval" / "plan" / "robustness.py"
    plan.write_text(plan.read_text() + "\nEDITED = True\n")
    shifts = len(yaml.safe_load(TINY.read_text())["robustness"]["corruptions"])
    assert planned()[0] == {
        "render_report": 1,
        "select_models": 1,
        "plot_results": 1,
        "shift_split": shifts,
        "score_shift": 1,
        "summarize_robustness": 1,
        "all": 1,
    }  # the selection jobs still rerun from the edit before
    recipes = tmp_path / "src" / "synthval" / "recipes.py"
    # only the study's training jobs run it (LiRA's models are study runs on pool halves), and what reads them
    recipes.write_text(recipes.read_text() + "\nEDITED = True\n")
    assert planned()[0] == {
        "render_report": 1,
        "select_models": 1,
        "plot_results": 1,
        "summarize_training": 1,
        "train_recipe": 16,
        "train_lira": 8,
        "lira": 1,
        "shift_split": shifts,  # still from the plan's edit
        "score_shift": 1,
        "summarize_robustness": 1,
        "all": 1,
    }


def test_deleting_shards_reruns_only_their_dependents_to_the_same_bytes(run):
    # a validation shard of a generator the training study also draws from (its training images are other shards)
    shards = [run / synthetic_shard("train300", g, "00001") for g in ("wgan",)]
    before = [hashlib.sha256(s.read_bytes()).hexdigest() for s in shards]
    for shard in shards:
        shard.unlink()
    assert dry_run_jobs(run) == {
        "synthesize_shard": 1,
        "index_synthetic": 1,
        "plot_samples": 1,
        "convert_webdataset": 1,
        "index_webdataset": 1,
        "predict": 3,
        "rank_models": 1,
        "features": 1,
        "quality": 1,
        "copy_detection": 1,
        "plot_copies": 1,
        "select_models": 1,
        "plot_results": 1,
        "render_report": 1,
        "all": 1,
    }
    snakemake(run)
    assert [hashlib.sha256(s.read_bytes()).hexdigest() for s in shards] == before  # same seed, same bytes
    assert "Nothing to be done" in snakemake(run, "-n").stdout


def test_editing_a_synthesis_setting_resamples_without_retraining(run, tmp_path):
    edited = tmp_path / "confidence.yaml"
    config = yaml.safe_load(TINY.read_text())
    config["generators"]["ddpm_pl"]["confidence"] = 0.2
    edited.write_text(yaml.safe_dump(config))
    jobs = dry_run_jobs_for(run, edited)
    assert "train_generator" not in jobs, jobs
    assert jobs["synthesize_shard"] == 2, jobs  # the pseudo-labelled set's shards, not its generator


def test_growing_the_zoo_retrains_configurations_as_a_fresh_run_would(run, tmp_path):
    bigger = tmp_path / "bigger.yaml"
    config = yaml.safe_load(TINY.read_text())
    config["zoo"]["seeds"].append(2)
    bigger.write_text(yaml.safe_dump(config))
    jobs = dry_run_jobs_for(run, bigger)
    # one training and one prediction job per configuration (3 architectures), nothing upstream
    assert jobs == {
        "train_classifier": 3,
        "predict": 3,
        "rank_models": 1,
        "select_models": 1,
        "plot_results": 1,
        "render_report": 1,
        "all": 1,
    }
    # each split gained a member, so each is trained whole (a member's bits depend on those batched with
    # it): the old members come out within float tolerance of what they were
    grown = tmp_path / "grown"
    shutil.copytree(run, grown, symlinks=True)
    members = grown / RESULTS / "classifiers" / "train300"
    before, _ = load_tensors(members / "mlp-base-s1" / "epoch-002.safetensors")
    snakemake(grown, classifier_weights("train300", "mlp-base-s2", "002"), config=bigger)
    log = (grown / log_path("train_classifier", "train300", "mlp-base")).read_text()
    assert "training the train split's 3 members together" in log, log
    assert "training the fit split's 3" in log, log
    assert "training mlp-base-s0, mlp-base-s1, mlp-base-s2 (" in log, log
    after, _ = load_tensors(members / "mlp-base-s1" / "epoch-002.safetensors")
    for name, tensor in before.items():
        torch.testing.assert_close(after[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    # a member's files deleted: its split (fit) alone is trained again, to the same bytes; train is kept
    digests = {f: sha256_file(f) for f in sorted(members.rglob("*.safetensors"))}  # histories hold timings
    shutil.rmtree(members / "mlp-base-s2-fit")
    snakemake(grown, classifier_weights("train300", "mlp-base-s2-fit", "002"), config=bigger)
    log = (grown / log_path("train_classifier", "train300", "mlp-base")).read_text()
    assert "kept mlp-base-s0, mlp-base-s1, mlp-base-s2:" in log, log
    assert "training the fit split's 3" in log, log
    assert {f: sha256_file(f) for f in sorted(members.rglob("*.safetensors"))} == digests


def test_snakemake_report_zip(run):
    snakemake(run, "--report", path("report", "snakemake-report.zip"))
    with zipfile.ZipFile(run / RESULTS / "report" / "snakemake-report.zip") as zf:
        names = zf.namelist()
    # every figure and table the report is built from, and the report itself, each with its caption
    for suffix in (
        "scatter.svg",
        "samples.png",
        "history.svg",
        "quality.svg",
        "protocols.svg",
        "calibration.svg",
        "class_errors.svg",
        "report.html",
        "errors.parquet",
        "metrics.parquet",
        "rank_correlation.parquet",
        "protocols.parquet",
        "calibration.parquet",
        "corollary.parquet",
        "scaling.svg",
        "content_gap.svg",
        "accuracy.parquet",
    ):
        assert any(n.endswith(suffix) for n in names), suffix


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data:\n  train_sizes:\n    train300: -3\n", "config key data.train_sizes.train300"),
        (
            "generators:\n  d:\n    family: ddpm\n    n_critic: 5\n",
            "config key generators.d: unknown key(s): 'n_critic' (not a setting of family 'ddpm')",
        ),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, override, message):
    """A schema check and a family's check stop the workflow as it reads the config; every other check's
    message is tested without Snakemake (tests/test_config.py), through the same validate_config."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    proc = snakemake(tmp_path, config=bad, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / RESULTS).exists()


@pytest.mark.long
def test_paper_scale_config_plans_without_data(tmp_path):
    jobs = dry_run_jobs_for(tmp_path, ROOT / "config" / "cifar10.yaml")
    configurations = 3 * (
        17 + 64
    )  # training sets x (standard + randomly wired architectures), each 10 train + 3 fit seeds
    assert jobs["train_classifier"] == configurations
    assert jobs["predict"] == configurations
    assert jobs["train_generator"] == 3 * 3
    assert jobs["train_class_generator"] == 3 * 10
    assert jobs["synthesize_shard"] == 3 * 4 * 50


def test_real_fake_config_plans_without_weights(tmp_path):
    """config/cifar10-realfake.yaml dry-runs with no Stable Diffusion or CLIP folder present."""
    jobs = dry_run_jobs_for(tmp_path, ROOT / "config" / "cifar10-realfake.yaml")
    assert jobs["train_generator"] == 4
    assert jobs["synthesize_shard"] == 4 * 50
    assert jobs["synthesize_train_shard"] == 2 * 10 * 10  # realfake and sd, up to 10x, 10 shards per 1x


@pytest.mark.long
def test_imagenet_config_plans_its_jobs_over_a_nodes_gpus(tmp_path):
    """config/imagenet1k-realfake.yaml dry-runs with no ImageNet, Stable Diffusion or CLIP folder present
    (the Inception weights are an input: an empty placeholder stands in), and every training job asks for
    the 8 GPUs of a node and the cores of its ranks' loader workers; its GPU-hour estimate computes."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "inception.safetensors").touch()
    # on a node with 64 cores (a dry run caps each job's threads at --cores)
    out = snakemake(tmp_path, "-n", "--cores", "64", config=ROOT / "config" / "imagenet1k-realfake.yaml").stdout
    jobs = dry_run_jobs_for_output(out)
    assert jobs["train_generator"] == 1
    assert jobs["synthesize_shard"] == 1000
    assert jobs["synthesize_train_shard"] == 250
    assert jobs["train_classifier"] + jobs["train_classifier_30ep"] == 6
    assert jobs["train_recipe"] == 3
    asks = {}
    for block in out.split("\nrule ")[1:]:
        rule = block.split(":")[0]
        threads = block.split("threads: ")[1].split("\n")[0] if "threads: " in block else "1"
        gpu = block.split("gpu=")[1].split(",")[0] if "gpu=" in block else "0"
        asks.setdefault(rule, set()).add((int(threads), int(gpu)))
    for rule in ("train_reference", "train_classifier", "train_classifier_30ep", "train_recipe"):
        assert asks[rule] == {(8 * (1 + 6), 8)}, (rule, asks[rule])  # 8 ranks, each with 6 loader workers
    assert asks["train_generator"] == {(8, 8)}
    assert asks["synthesize_shard"] == {(1, 1)}
    estimate = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "imagenet_estimate.py")], capture_output=True, text=True, check=True
    ).stdout
    assert "| in1k | study runs' training | 1,477,400,400 images |" in estimate, estimate


def test_slurm_profile_resolves_from_the_repository_root(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "slurm",
        "--directory",
        str(tmp_path),
        "--configfile",
        str(TINY),
        "-n",
    ]
    proc = run_watched(cmd, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"Using profile {ROOT / 'slurm'}" in out or "Using profile slurm" in out
    assert "train_classifier" in out


@pytest.mark.long
def test_a_generator_job_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["generators"] = {
        "wgan": {**config["generators"]["wgan"], "iterations": 300, "checkpoint_every": 25, "eval_every": 0}
    }
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    target = generator_weights("train300", "wgan")
    snakemake(tmp_path / "whole", target, config=path)

    killed = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(killed),
        "--configfile",
        str(path),
        "--cores",
        "2",
        target,
    ]
    workflow = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / RESULTS / "resume" / "generators" / "train300" / "wgan.safetensors"
    while not state.exists() and workflow.poll() is None:  # the run ends, or it saves a state
        time.sleep(0.05)
    assert state.exists(), "no resume state was written"
    time.sleep(0.2)  # let the job go on past the saved step
    job = subprocess.run(
        ["pgrep", "-f", str(killed / ".snakemake" / "scripts")], capture_output=True, text=True
    ).stdout.split()
    assert job, "the training job finished before it could be killed"
    for pid in job:
        os.kill(int(pid), signal.SIGKILL)
    assert workflow.wait() != 0  # its job killed, the run ends
    assert not (killed / target).exists()

    snakemake(killed, target, config=path)  # the rerun resumes from the saved state
    log = (killed / log_path("train_generator", "train300", "wgan")).read_text()
    assert "resumed from step" in log
    assert (
        hashlib.sha256((killed / target).read_bytes()).digest()
        == hashlib.sha256((tmp_path / "whole" / target).read_bytes()).digest()
    )


def test_membership_inference_and_robustness_of_the_tiny_study(run):
    """LiRA's halves put every pool image in half of the models; the attack covers every attacked run
    with every model as the target; robustness has every run, seed, shift and severity."""
    membership = pl.read_parquet(run / path("privacy", "train300", "lira", "membership.parquet"))
    assert membership["model"].n_unique() == 4
    assert (membership.group_by("key").agg(pl.col("member").sum())["member"] == 2).all()
    halves = membership.filter(pl.col("member")).group_by("model").len().sort("model")
    for row in halves.iter_rows(named=True):
        half = read_image_set(run / path("privacy", "train300", "lira", f"h{row['model']}", "data", "manifest.json"))
        assert len(half) == row["len"]
    attacks = pl.read_parquet(run / path("privacy", "train300", "lira_attacks.parquet"))
    assert set(attacks["run"]) == {"real", "synthetic-wgan"}
    assert set(attacks["attack"]) == {"online_fixed_variance", "offline_fixed_variance"}  # 4 models: 1 IN, 1 OUT
    assert (attacks["members"] + attacks["non_members"] == 4 * 300).all()
    assert (attacks["targets"] == 4).all()
    assert attacks["auc"].is_between(0, 1).all()
    assert attacks["test_accuracy"].is_between(0, 1).all()
    # privacy.lira.mirror: every LiRA model also scored each pool image mirrored, a query of its own
    pool = pl.read_parquet(run / path("privacy", "train300", "lira", "h0", "runs", "real", "predictions.parquet"))
    pool = pool.filter(pl.col("eval_set") == "pool")
    assert pool.height == 300
    assert pool["phi_mirror"].is_finite().all()
    assert (pool["phi"] != pool["phi_mirror"]).any()
    # a LiRA model's synthetic data come from its own half's generator, never the study's
    pool = read_image_set(run / path("privacy", "train300", "lira", "h0", "generators", "wgan", "manifest.json"))
    assert len(pool) == 150
    assert all(k.startswith("train300-wgan-lira0") for k in pool.keys)
    robust = pl.read_parquet(run / path("robustness", "train300", "accuracy.parquet"))
    assert set(robust["shift"]) == {"clean", "gaussian_noise", "contrast", "mean corruption"}
    shifted = robust.filter(pl.col("shift") == "contrast")
    assert sorted(shifted["severity"]) == sorted([1, 2, 3, 4, 5] * robust["run"].n_unique())
    assert (robust["seeds"] == 2).all()
    assert (robust.filter(pl.col("shift") == "clean")["drop"] == 0).all()
    assert (run / path("report", "train300", "lira.svg")).stat().st_size > 0
    html = (run / report_html()).read_text()
    assert "Privacy: membership inference" in html
    assert "Robustness to distribution shift" in html


def test_a_shifted_test_set_of_the_users_is_scored_and_an_empty_one_is_refused(run, tmp_path):
    rng = np.random.default_rng(0)
    shifted = tmp_path / "shifted.npz"
    np.savez(shifted, images=rng.integers(0, 256, (40, 8, 8, 1), np.uint8), labels=np.arange(40) % 10)
    config = yaml.safe_load(TINY.read_text())
    config["robustness"]["sets"] = {"noisy_digits": str(shifted)}
    with_set = tmp_path / "with_set.yaml"
    with_set.write_text(yaml.safe_dump(config))
    target = path("robustness", "train300", "accuracy.parquet")
    snakemake(run, target, config=with_set)
    robust = pl.read_parquet(run / target)
    user = robust.filter(pl.col("shift") == "noisy_digits")
    assert user.height == len(set(robust["run"]))
    assert (user["severity"] == 0).all()
    assert (user["images"] == 40).all()
    np.savez(shifted, images=np.zeros((0, 8, 8, 1), np.uint8), labels=np.zeros(0, np.int64))
    (run / path("data", "train300", "shift", "noisy_digits", "manifest.json")).unlink()
    proc = snakemake(run, target, config=with_set, check=False)
    assert proc.returncode != 0
    assert "config key robustness.sets.noisy_digits" in proc.stderr
    assert "no images" in proc.stderr
    shutil.rmtree(run / path("data", "train300", "shift", "noisy_digits"), ignore_errors=True)
    snakemake(run, target)  # back to the tiny config's own shifts for the tests that follow
