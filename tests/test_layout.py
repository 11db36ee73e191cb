"""Where results live (synthval.layout): what a config implies, and the lists the workflow builds from it."""

from pathlib import Path

import pytest

from synthval.config import load_config
from synthval.layout import RESULTS, Study, all_outputs, classifier_weights, predictions, report_inputs

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.mark.parametrize("name", ["config/config.yaml", "tests/configs/tiny.yaml", "config/cifar10.yaml"])
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


def test_the_default_study():
    study = Study.from_config(load_config(ROOT / "config" / "config.yaml", SCHEMA))
    assert study.trainsets == ["train1000"] and study.generators == ["wgan", "ddpm"] and study.per_class == []
    assert study.suffixes == ["-s0", "-s1", "-s0-fit"] and len(study.all_models) == 7 * 3 and len(study.models) == 14
    assert study.shards == ["00000", "00001"] and study.epoch_groups == {("006", "012"): ["base"]}
    assert study.selection_sets == ["wgan", "ddpm", "augmented"] and study.study_generators == ["ddpm"]
    # the study's synthetic training images: the largest scale asked of the DDPM (2x), shards_per_x shards per 1x
    per_x = load_config(ROOT / "config" / "config.yaml", SCHEMA)["training"]["shards_per_x"]
    assert study.train_pool_shards == {"ddpm": [f"{i:05d}" for i in range(2 * per_x)]}


def test_report_inputs_list_every_file_in_order():
    study = Study.from_config(load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA))
    inputs = report_inputs(study)
    files = inputs.files()
    (trainset,) = study.trainsets
    f = inputs.trainsets[trainset]
    assert files[:2] == [f.summary, f.reference] and files[-1] == f.training.content_gap_plot
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
