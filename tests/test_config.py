from pathlib import Path

import pytest
import yaml

from synthval import zoo
from synthval.classifiers import list_classifiers
from synthval.config import ConfigError, load_config, validate_config
from synthval.generators import list_generators
from synthval.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = SCHEMA_PATH


def test_default_config_is_valid_and_defaults_are_filled():
    config = load_config(ROOT / "config" / "config.yaml", SCHEMA)
    assert config["data"]["shard_size"] == 4096
    assert config["generators"]["wgan"]["n_critic"] == 5
    assert config["generators"]["wgan"]["lr"] == 0.0001
    assert config["reference"]["architecture"] == "cnn"


def test_family_defaults_follow_the_family():
    config = validate_config(
        {"data": {"image_size": 16}, "generators": {"w": {}, "s": {"family": "sngan"}, "d": {"family": "ddpm"}}}, SCHEMA
    )
    w, s, d = (config["generators"][k] for k in "wsd")
    assert (w["n_critic"], w["lr"], w["gp_weight"]) == (5, 0.0001, 10)
    assert (s["n_critic"], s["lr"]) == (2, 0.0002)
    assert "gp_weight" not in s
    assert d["sampler"] == "ddim"
    assert d["ema_decay"] == 0.995
    assert "n_critic" not in d
    assert "width" not in d
    assert all(g["conditioning"] == "class" and g["eval_every"] == 100 for g in (w, s, d))
    assert config["zoo"]["momentum"] == 0.9


def test_empty_config_gets_every_default():
    config = validate_config({}, SCHEMA)
    assert config["data"]["source"] == "digits"
    assert config["generators"]["wgan"]["family"] == "wgan_gp"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"data": {"train_sizes": {"train100": -5}}},
            "config key data.train_sizes.train100: -5 is less than the minimum of 1",
        ),
        (
            {"data": {"train_sizes": {"train9k": 9000}}},
            "config key data.train_sizes.train9k: 9000 leaves no test images",
        ),
        ({"data": {"root": "../elsewhere"}}, "config key data.root: '../elsewhere' must not contain '..'"),
        ({"privacy": {"lira": {"models": 5}}}, "config key privacy.lira.models: 5 is not a multiple of 2"),
        ({"privacy": {"lira": {"models": 2}}}, "config key privacy.lira.models: 2 is less than the minimum of 4"),
        (
            {"privacy": {"lira": {"methods": ["real", "mixup"]}}},
            "config key privacy.lira.methods: 'mixup' is not a method of training.methods",
        ),
        (
            {"privacy": {"lira": {"methods": ["pretrained_guidance"]}}},
            "config key privacy.lira.methods: 'pretrained_guidance' uses Pretrained Guidance",
        ),
        (
            {"generators": {"p": {"family": "ddpm", "conditioning": "pseudo_label"}}},
            "config key privacy.lira.methods: generator 'p' is pseudo_label",
        ),
        (
            {"training": {"generators": ["wgan"]}, "privacy": {"lira": {"generators": ["ddpm"]}}},
            "config key privacy.lira.generators: 'ddpm' is not a generator of the training study",
        ),
        (
            {"robustness": {"corruptions": ["fog"]}},
            "config key robustness.corruptions.0: 'fog' is not one of",
        ),
        ({"zoo": {"architectures": ["resnet9000"]}}, "config key zoo.architectures.0: 'resnet9000' is not one of"),
        ({"generators": {"g": {"family": "stylegan9"}}}, "config key generators.g.family: 'stylegan9' is not one of"),
        ({"generators": {"test": {}}}, "config key generators"),
        ({"zoo": {"epochs": 3, "save_epochs": [5]}}, "config key zoo.save_epochs: epoch 5 is past zoo.epochs"),
        ({"zoo": {"lr": 0.1, "learning_rate": 0.1}}, "config key zoo: unknown key(s): 'learning_rate'"),
        ({"bogus_key": 1, "x-anchor": {}}, "config key (top level): unknown key(s): 'bogus_key'"),
        ({"dat": {}}, "config key (top level): unknown key(s): 'dat' (did you mean 'data'?)"),
        ({"data": {"sorce": "digits"}}, "config key data: unknown key(s): 'sorce' (did you mean 'source'?)"),
        (
            {"generators": {"g": {"family": "ddpm", "sampling_step": 5}}},
            "config key generators.g: unknown key(s): 'sampling_step' (did you mean 'sampling_steps'?) (not a "
            "setting of family 'ddpm')",
        ),
        ({"generators": {"wgan": {"family": "nope"}}}, "config key generators.wgan.family: 'nope' is not one of"),
        (
            {"generators": {"d": {"family": "ddpm", "n_critic": 5}}},
            "config key generators.d: unknown key(s): 'n_critic' (not a setting of family 'ddpm')",
        ),
        (
            {"generators": {"g": {"family": "sngan", "gp_weight": 10}}},
            "config key generators.g: unknown key(s): 'gp_weight' (not a setting of family 'sngan')",
        ),
        (
            {"generators": {"d": {"family": "ddpm", "sampler": "euler"}}},
            "config key generators.d.sampler: 'euler' is not one of ['ddim', 'dpm_solver']",
        ),
        (
            {"generators": {"d": {"family": "ddpm", "guidance_scale": -1}}},
            "config key generators.d.guidance_scale: -1 is less than the minimum of 0",
        ),
        (
            {
                "data": {"image_size": 8},
                "generators": {"d": {"family": "ddpm", "block_channels": [16, 32, 32, 32, 32]}},
            },
            "config key generators.d: ddpm with 5 resolution levels needs an image size divisible by 16, got 8",
        ),
        ({"generators": {"d": {"family": "ddpm", "block_channels": [6, 8]}}}, "must be multiples of norm_groups=4"),
        (
            {"generators": {"g": {"conditioning": "pseudo_label", "confidence": 1.5}}},
            "config key generators.g.confidence: 1.5 is greater than or equal to the maximum of 1",
        ),
        (
            {"data": {"source": "imagefolder"}, "generators": {"g": {"conditioning": "per_class"}}},
            "per_class needs data.num_classes for source 'imagefolder'",
        ),
        ({"zoo": {"architectures": []}}, "config key zoo.architectures: the zoo is empty"),
        ({"zoo": {"random_wired": {"count": 4, "k": 3}}}, "config key zoo.random_wired.k: 3 is not a multiple of 2"),
        (
            {"zoo": {"random_wired": {"count": 4, "nodes": 4, "k": 4}}},
            "config key zoo.random_wired.k: 4 needs more than 4 nodes",
        ),
        ({"zoo": {"variants": {"big-lr": {"lr": 0.1}}}}, "config key zoo.variants: 'big-lr' does not match"),
        (
            {"zoo": {"variants": {"fast": {"epochs": 3, "dropout": 0.1}}}},
            "config key zoo.variants.fast: unknown key(s): 'dropout'",
        ),
        (
            {"zoo": {"variants": {"fast": {"optimizer": "adam"}}}},
            "config key zoo.variants.fast.optimizer: 'adam' is not one of ['sgd', 'adamw']",
        ),
        (
            {"zoo": {"epochs": 4, "save_epochs": [7], "variants": {"long": {"epochs": 6}}}},
            "epoch 7 is past zoo.epochs (4) and every variant's epochs",
        ),
        (
            {"zoo": {"architecture_settings": {"resnet9000": {"lr": 0.1}}}},
            "config key zoo.architecture_settings: 'resnet9000' is not a registered architecture or rwnn",
        ),
        (
            {"zoo": {"architecture_settings": {"cnn": {"epochs": 3}}}},
            "config key zoo.architecture_settings.cnn: unknown key(s): 'epochs'",
        ),
        (
            {"zoo": {"architectures": ["mlp", "cnn"], "groups": {"small": ["mlp"]}}},
            "config key zoo.groups: ['cnn'] belong to no group",
        ),
        (
            {"zoo": {"architectures": ["mlp"], "groups": {"a": ["mlp"], "b": ["mlp"]}}},
            "config key zoo.groups: 'mlp' is in both 'a' and 'b'",
        ),
        (
            {"selection": {"calibration_point": {"models": 5, "ridge": 3.0}}},
            "config key selection.calibration_point.ridge: 3.0 is not one of selection.ridge",
        ),
        ({"selection": {"calibration_point": "best"}}, "config key selection.calibration_point"),
    ],
)
def test_bad_values_name_the_key(config, message):
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert message in str(err.value)


def test_schema_names_match_the_registries():
    schema = yaml.safe_load(SCHEMA.read_text())
    archs = schema["$defs"]["architecture"]["enum"]
    families = schema["properties"]["generators"]["additionalProperties"]["properties"]["family"]["enum"]
    # rwnn comes from zoo.random_wired; timm (any timm network by name) only for zoo.imported
    assert sorted(archs) == sorted(set(list_classifiers()) - {"rwnn", "timm"})
    # per_class is assembled, via `conditioning`; imported sets are read, not generated
    assert sorted(families) == sorted({*list_generators(), "imported"} - {"per_class"})


def test_the_library_defaults_are_the_schemas():
    # the schema is the source of every default: the settings classes read theirs from it, so a script
    # and a workflow run given the same keys train and measure the same way
    from dataclasses import MISSING, fields

    from synthval.classifiers import TrainSettings
    from synthval.metrics.quality import QualitySettings

    config = validate_config({}, SCHEMA)

    def default(f):
        return f.default_factory() if f.default is MISSING else f.default

    quality = {f.name: default(f) for f in fields(QualitySettings)}
    assert quality == {k: tuple(v) if isinstance(v, list) else v for k, v in config["quality"].items() if k in quality}
    per_job = ("epochs", "save_epochs", "seed", "extra")
    train = {f.name: default(f) for f in fields(TrainSettings) if f.name not in per_job}
    assert train == {k: config["zoo"][k] for k in train}
    # what a zoo member trains with comes from these fields, and what a variant or an architecture may
    # override is one of them (a new trainer setting is a new field, not a new key list)
    assert set(zoo.ZOO_TRAIN_KEYS) == {*train, "epochs"}
    assert set(zoo.TRAIN_KEYS) < set(zoo.ZOO_TRAIN_KEYS)
    assert zoo.train_settings(config["zoo"]) == {k: config["zoo"][k] for k in zoo.ZOO_TRAIN_KEYS}


def test_the_workflow_validates_against_the_schema_the_package_ships():
    link = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    assert link.resolve() == SCHEMA_PATH.resolve()
    assert SCHEMA_PATH.parent.name == "synthval"
