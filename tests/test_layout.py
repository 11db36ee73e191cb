"""Where results live (synthval.layout): what a config implies, and the lists the workflow builds from it."""

import re
from pathlib import Path

import pytest

from synthval.config import load_config
from synthval.layout import (
    RESULTS,
    Study,
    all_outputs,
    classifier_weights,
    eval_sets,
    feature_inputs,
    gap_sets,
    generator_inputs,
    lira_generator_inputs,
    lira_recipe_inputs,
    predictions,
    recipe_inputs,
    report_inputs,
    shard_key_prefix,
    synthesis_inputs,
    train_pool_shards,
)
from synthval.schema import SCHEMA_PATH
from synthval.zoo import configuration_pattern, parse_model, training_rule_name

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = SCHEMA_PATH


@pytest.mark.parametrize(
    "name",
    [
        "config/config.yaml",
        "config/digits-study.yaml",
        "tests/configs/tiny.yaml",
        "config/cifar10.yaml",
        "config/cifar10-realfake.yaml",
        "tests/configs/sd.yaml",
    ],
)
def test_every_result_is_listed_once_and_the_report_reads_only_results(name):
    study = Study.from_config(load_config(ROOT / name, SCHEMA))
    outputs = all_outputs(study)
    assert len(outputs) == len(set(outputs)) and all(p.startswith(RESULTS + "/") for p in outputs)
    # everything the report reads is a result the workflow makes (so rule all and the report agree)
    inputs = report_inputs(study)
    assert set(inputs.files()) <= set(outputs)
    # the study's files are there exactly when the config has runs
    assert all((f.training is not None) == bool(study.runs) for f in inputs.trainsets.values())
    for t in study.trainsets:
        for m in study.all_models:
            assert predictions(t, m) in outputs
            assert [classifier_weights(t, m, e) for e in study.epoch_tags(m)] == [
                p for p in outputs if p.startswith(f"{RESULTS}/classifiers/{t}/{m}/epoch-")
            ]


def test_the_reports_live_paths_are_where_a_generator_appends():
    from synthval.generators.base import live_grid_folder, live_log_path
    from synthval.layout import generator_live_grids, generator_live_log, generator_resume_state

    state = generator_resume_state("train1000", "ddpm")
    assert generator_live_log("train1000", "ddpm") == live_log_path(state)
    assert generator_live_grids("train1000", "ddpm") == live_grid_folder(state)


def test_the_default_study():
    study = Study.from_config(load_config(ROOT / "config" / "config.yaml", SCHEMA))
    assert study.trainsets == ["train1000"] and study.generators == ["wgan", "ddpm"] and study.per_class == []
    assert study.suffixes == ["-s0", "-s1", "-s0-fit"] and len(study.all_models) == 6 * 3 and len(study.models) == 12
    assert study.shards == ["00000", "00001"] and study.epoch_groups == {("006", "012"): ["base"]}
    assert study.selection_sets == ["wgan", "ddpm", "augmented"] and study.study_generators == ["ddpm"]
    # the study's synthetic training images: the largest scale asked of the DDPM (1x), shards_per_x shards per 1x
    per_x = load_config(ROOT / "config" / "config.yaml", SCHEMA)["training"]["shards_per_x"]
    assert study.train_pool_shards == {"ddpm": [f"{i:05d}" for i in range(per_x)]}
    # no LiRA (config/digits-full.yaml has it); 3 corruptions of the test split
    assert study.lira_runs == [] and study.shifts == study.corruptions and len(study.shifts) == 3


def test_report_inputs_list_every_file_in_order():
    study = Study.from_config(load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA))
    inputs = report_inputs(study)
    files = inputs.files()
    (trainset,) = study.trainsets
    f = inputs.trainsets[trainset]
    assert files[:2] == [f.summary, f.reference] and files[-3:] == [
        f.lira.plot,
        f.robustness.accuracy,
        f.robustness.plot,
    ]
    generator = f.generators[study.generators[0]]
    assert files[2:8] == [
        generator.weights,
        generator.history_plot,
        generator.manifest,
        generator.grid,
        generator.quality,
        generator.curves,
    ]
    assert len(files) == len(set(files)) and inputs.benchmarks not in files
    assert all(h in files for h in f.histories) and len(f.histories) == len(study.models)


def test_which_files_each_job_reads():
    config = load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA)
    study = Study.from_config(config)
    data = f"{RESULTS}/data/train300"
    # a member trained on fit is also scored on val; each member on augmented copies of its own split
    fit_sets = eval_sets(study, "train300", parse_model("mlp-base-s0-fit"))
    assert fit_sets["val"] == ("val", f"{data}/val/manifest.json")
    assert fit_sets["augmented"] == ("augmented_fit", f"{data}/augmented-fit/manifest.json")
    train_sets = eval_sets(study, "train300", parse_model("mlp-base-s0"))
    assert "val" not in train_sets and set(train_sets) == {"test", "augmented", *study.generators}
    # the pseudo-labelled generator's samples need the reference classifier; a class-conditional one's do not
    assert "reference" in synthesis_inputs(study, "train300", "ddpm_pl")
    assert "reference" not in synthesis_inputs(study, "train300", "ddpm")
    assert (
        feature_inputs(study, "train300", "wgan")["extractor"] == f"{RESULTS}/reference/train300/classifier.safetensors"
    )
    # content-gap sets: the real-only run is scored on each study generator's 1x training images, the plain
    # synthetic-only run on the real train split; both keep their other inputs
    real = recipe_inputs(study, "train300", "real")
    assert real["gap_wgan"] == f"{RESULTS}/synthetic/train300/wgan/train/manifest-x1.json" and "synthetic" not in real
    assert gap_sets(study, "train300", "synthetic-wgan") == {"gap_real": (f"{data}/train/manifest.json", "real_train")}
    assert gap_sets(study, "train300", "synthetic_x2-wgan") == {}
    assert "guide" in recipe_inputs(study, "train300", "pg_both-wgan")
    # a LiRA model trains on its pool half (synthetic data: the half's own generator) and is queried on the pool;
    # the half's generator reads the half, never the reference (which saw the whole pool)
    lira = lira_recipe_inputs(study, "train300", "synthetic-wgan", "2")
    assert lira == {
        "test": f"{data}/test/manifest.json",
        "pool": f"{data}/train/manifest.json",
        "synthetic": f"{RESULTS}/privacy/train300/lira/h2/generators/wgan/manifest.json",
    }
    assert (
        lira_recipe_inputs(study, "train300", "real", "2")["real"]
        == f"{RESULTS}/privacy/train300/lira/h2/data/manifest.json"
    )
    assert "reference" in generator_inputs(study, "train300", "wgan")  # its checkpoints are scored ...
    assert lira_generator_inputs(study, "train300", "2", "wgan") == {  # ... a half's are not
        "train": f"{RESULTS}/privacy/train300/lira/h2/data/manifest.json"
    }
    per_x = config["training"]["shards_per_x"]
    assert len(train_pool_shards(study, "train300", "wgan", 2)) == 2 * per_x
    assert shard_key_prefix("t", "g", "00001") != shard_key_prefix("t", "g", "00001", train=True)


def test_rules_are_named_and_matched_from_the_zoo():
    zoo = load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA)["zoo"]
    assert training_rule_name(zoo, [1, zoo["epochs"]]) == "train_classifier"
    assert training_rule_name(zoo, [zoo["epochs"] + 3]) == f"train_classifier_{zoo['epochs'] + 3}ep"
    pattern = re.compile(configuration_pattern(["base", "wide"]))
    assert pattern.fullmatch("cnn-base") and pattern.fullmatch("rwnn03-wide") and not pattern.fullmatch("cnn-deep")
    assert not re.compile(configuration_pattern([])).fullmatch("cnn-base")
