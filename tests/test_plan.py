"""The workflow's plan (synthval.plan): what a config implies, which files each job reads, and the lists the
workflow builds from it."""

import re
from pathlib import Path

import pytest

from synthval.config import load_config
from synthval.plan.paths import RESULTS, classifier_weights, predictions, shard_key_prefix
from synthval.plan.report import report_inputs
from synthval.plan.study import Study
from synthval.plan.workflow import Plan
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
    plan = Plan.from_config(load_config(ROOT / name, SCHEMA), scripts=ROOT / "workflow" / "scripts")
    study, outputs = plan.study, plan.all_outputs()
    assert len(outputs) == len(set(outputs))
    assert all(p.startswith(RESULTS + "/") for p in outputs)
    # everything the report reads is a result the workflow makes (so rule all and the report agree)
    inputs = report_inputs(study)
    assert set(inputs.files()) <= set(outputs)
    # the study's files are there exactly when the config has runs
    assert all((f.training is not None) == bool(study.runs) for f in inputs.trainsets.values())
    listed, epochs = set(outputs), {}  # each member's weights, in the order rule all lists them
    for p in outputs:
        if p.startswith(f"{RESULTS}/classifiers/") and Path(p).name.startswith("epoch-"):
            epochs.setdefault(str(Path(p).parent), []).append(p)
    for t in study.trainsets:
        for m in study.all_models:
            assert predictions(t, m) in listed
            weights = [classifier_weights(t, m, e) for e in study.epoch_tags(m)]
            assert weights == epochs[str(Path(weights[0]).parent)]


def test_the_reports_live_paths_are_where_a_generator_appends():
    from synthval.generators.base import live_grid_folder, live_log_path
    from synthval.plan.paths import generator_live_grids, generator_live_log, generator_resume_state

    state = generator_resume_state("train1000", "ddpm")
    assert generator_live_log("train1000", "ddpm") == live_log_path(state)
    assert generator_live_grids("train1000", "ddpm") == live_grid_folder(state)


def test_the_default_study():
    study = Study.from_config(load_config(ROOT / "config" / "config.yaml", SCHEMA))
    assert study.trainsets == ["train1000"]
    assert study.generators == ["wgan", "ddpm"]
    assert study.per_class == []
    assert study.suffixes == ["-s0", "-s1", "-s0-fit"]
    assert len(study.all_models) == 5 * 3
    assert len(study.models) == 10
    assert study.shards == ["00000", "00001"]
    assert study.epoch_groups == {("006", "012"): ["base"]}
    assert study.selection_sets == ["wgan", "ddpm", "augmented"]
    assert study.study_generators == ["ddpm"]
    # the study's synthetic training images: the largest scale asked of the DDPM (1x), shards_per_x shards per 1x
    per_x = load_config(ROOT / "config" / "config.yaml", SCHEMA)["training"]["shards_per_x"]
    assert study.train_pool_shards == {"ddpm": [f"{i:05d}" for i in range(per_x)]}
    # no LiRA (config/digits-full.yaml has it); 3 corruptions of the test split
    assert study.lira_runs == []
    assert study.shifts == study.corruptions
    assert len(study.shifts) == 3


def test_report_inputs_list_every_file_in_order():
    study = Study.from_config(load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA))
    inputs = report_inputs(study)
    files = inputs.files()
    (trainset,) = study.trainsets
    f = inputs.trainsets[trainset]
    assert files[:2] == [f.summary, f.reference]
    assert files[-3:] == [
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
    assert len(files) == len(set(files))
    assert inputs.benchmarks not in files
    assert all(h in files for h in f.histories)
    assert len(f.histories) == len(study.models)


class Wildcards(dict):
    """A job's wildcards as Snakemake gives them to the plan: by attribute, with ``keys()``."""

    __getattr__ = dict.__getitem__


def test_which_files_each_job_reads():
    config = load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA)
    plan = Plan.from_config(config, scripts=ROOT / "workflow" / "scripts")
    study, data = plan.study, f"{RESULTS}/data/train300"

    def w(**wildcards):
        return Wildcards(trainset="train300", **wildcards)

    # a member trained on fit is also scored on val; each member on augmented copies of its own split
    fit_sets = plan.evaluation.eval_sets("train300", parse_model("mlp-base-s0-fit"))
    assert fit_sets["val"] == ("val", f"{data}/val/manifest.json")
    assert fit_sets["augmented"] == ("augmented_fit", f"{data}/augmented-fit/manifest.json")
    train_sets = plan.evaluation.eval_sets("train300", parse_model("mlp-base-s0"))
    assert "val" not in train_sets
    assert set(train_sets) == {"test", "augmented", *study.generators}
    # the pseudo-labelled generator's samples need the reference classifier; a class-conditional one's do not
    assert "reference" in plan.generators.synthesis_inputs(w(generator="ddpm_pl"))
    assert "reference" not in plan.generators.synthesis_inputs(w(generator="ddpm"))
    extractor = plan.metrics.feature_inputs(w(dataset="wgan"))["extractor"]
    assert extractor == f"{RESULTS}/reference/train300/classifier.safetensors"
    # content-gap sets: the real-only run is scored on each study generator's 1x training images, the plain
    # synthetic-only run on the real train split; both keep their other inputs
    real = plan.training.inputs(w(run="real"))
    assert real["gap_wgan"] == f"{RESULTS}/synthetic/train300/wgan/train/manifest-x1.json"
    assert "synthetic" not in real
    gap = {"gap_real": (f"{data}/train/manifest.json", "real_train")}
    assert plan.training.gap_sets("train300", "synthetic-wgan") == gap
    assert plan.training.gap_names(w(run="synthetic-wgan")) == {"gap_real": "real_train"}
    assert plan.training.gap_sets("train300", "synthetic_x2-wgan") == {}
    assert "guide" in plan.training.inputs(w(run="pg_both-wgan"))
    # a LiRA model trains on its pool half (synthetic data: the half's own generator) and is queried on the pool;
    # the half's generator reads the half, never the reference (which saw the whole pool)
    lira = plan.privacy.recipe_inputs(w(run="synthetic-wgan", half="2"))
    assert lira == {
        "test": f"{data}/test/manifest.json",
        "pool": f"{data}/train/manifest.json",
        "synthetic": f"{RESULTS}/privacy/train300/lira/h2/generators/wgan/manifest.json",
    }
    half = f"{RESULTS}/privacy/train300/lira/h2/data/manifest.json"
    assert plan.privacy.recipe_inputs(w(run="real", half="2"))["real"] == half
    assert "reference" in plan.generators.train_inputs(w(generator="wgan"))  # its checkpoints are scored ...
    assert plan.privacy.generator_inputs(w(generator="wgan", half="2")) == {"train": half}  # ... a half's are not
    assert plan.privacy.train_spec(w(generator="wgan"))["training"]["eval_every"] == 0
    # one job's seed differs from another's, and from the same job's in another stage
    seeds = {
        plan.generators.train_seed(w(generator="wgan")),
        plan.generators.train_seed(w(generator="wgan", cls="001")),
        plan.privacy.generator_seed(w(generator="wgan", half="2")),
        plan.generators.shard_seed(w(generator="wgan", shard="00000")),
        plan.training.pool_shard_seed(w(generator="wgan", shard="00000")),
    }
    assert len(seeds) == 5
    per_x = config["training"]["shards_per_x"]
    assert len(plan.training.pool_shards(w(generator="wgan", scale="2"))) == 2 * per_x
    assert shard_key_prefix("t", "g", "00001") != shard_key_prefix("t", "g", "00001", train=True)


def test_each_stage_digests_its_own_plan_module():
    """A job's code digest covers its script's library code and its stage's plan module: the same script
    planned by two stages (train_generator.py for generators and for LiRA's halves) digests differently."""
    config = load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA)
    plan = Plan.from_config(config, scripts=ROOT / "workflow" / "scripts")
    job = Wildcards(trainset="train300", generator="wgan")
    assert plan.generators.code("train_generator.py")(job) != plan.privacy.code("train_generator.py")(job)
    assert plan.generators.code("train_generator.py")(job) == plan.generators.code("train_generator.py")(job)


def test_rules_are_named_and_matched_from_the_zoo():
    zoo = load_config(ROOT / "tests" / "configs" / "tiny.yaml", SCHEMA)["zoo"]
    assert training_rule_name(zoo, [1, zoo["epochs"]]) == "train_classifier"
    assert training_rule_name(zoo, [zoo["epochs"] + 3]) == f"train_classifier_{zoo['epochs'] + 3}ep"
    pattern = re.compile(configuration_pattern(["base", "wide"]))
    assert pattern.fullmatch("cnn-base")
    assert pattern.fullmatch("rwnn03-wide")
    assert not pattern.fullmatch("cnn-deep")
    assert not re.compile(configuration_pattern([])).fullmatch("cnn-base")


LAYERS = [  # synthval/__init__.py states this order
    {"io", "seeding", "schema", "runtime", "forkserver", "live", "checkpoint", "provenance", "inference", "questions"},
    {"simulation", "papers"},
    {"data"},
    {"zoo", "recipes", "families", "config"},
    {"plan"},
    {"classifiers"},
    {"evaluation"},
    {"generators"},
    {"metrics"},
    {"selection"},
    {"report"},
    {"jobs"},
    {"cli"},
]


def test_packages_import_only_their_own_layer_and_those_before_it():
    import ast

    from synthval.provenance import _imports

    layer = {name: i for i, group in enumerate(LAYERS) for name in group}
    source = ROOT / "src"
    wrong = []
    for file in sorted((source / "synthval").rglob("*.py")):
        parts = file.relative_to(source).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module == "synthval":
            continue
        unit = parts[1].removesuffix(".py") if len(parts) > 1 else parts[0]
        assert unit in layer, f"{module} is in no layer: add it to LAYERS and synthval/__init__.py"
        for name in _imports(ast.parse(file.read_text()), module, file.name == "__init__.py"):
            target = name.split(".")[1] if name.count(".") else None
            if target in layer and layer[target] > layer[unit]:
                wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_no_function_in_the_library_is_longer_than_80_lines():
    """A function a reader must hold in their head at once stays short: longer work is split into named steps."""
    import ast

    long = []
    for file in sorted((ROOT / "src" / "synthval").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 80:
                long.append(f"{file.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})")
    assert not long, long
