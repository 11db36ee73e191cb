from pathlib import Path

import pytest
import yaml

from synthval.classifiers import list_classifiers
from synthval.config import ConfigError, load_config, validate_config
from synthval.generators import list_generators

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def test_default_config_is_valid_and_defaults_are_filled():
    config = load_config(ROOT / "config" / "config.yaml", SCHEMA)
    assert config["data"]["shard_size"] == 4096
    assert config["generators"]["wgan"]["n_critic"] == 5
    assert config["zoo"]["momentum"] == 0.9


def test_empty_config_gets_every_default():
    config = validate_config({}, SCHEMA)
    assert config["data"]["source"] == "digits" and config["generators"]["wgan"]["family"] == "wgan_gp"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"data": {"train_sizes": {"train100": -5}}}, "config key data.train_sizes.train100: -5 is less than the minimum of 1"),
        ({"data": {"train_sizes": {"train9k": 9000}}}, "config key data.train_sizes.train9k: 9000 leaves no test images"),
        ({"data": {"root": "../elsewhere"}}, "config key data.root: '../elsewhere' must not contain '..'"),
        ({"zoo": {"architectures": ["resnet9000"]}}, "config key zoo.architectures.0: 'resnet9000' is not one of"),
        ({"generators": {"g": {"family": "stylegan9"}}}, "config key generators.g.family: 'stylegan9' is not one of"),
        ({"generators": {"test": {}}}, "config key generators"),
        ({"zoo": {"epochs": 3, "save_epochs": [5]}}, "config key zoo.save_epochs: epoch 5 is past zoo.epochs"),
        ({"zoo": {"lr": 0.1, "learning_rate": 0.1}}, "config key zoo: unknown key(s): 'learning_rate'"),
    ],
)
def test_bad_values_name_the_key(config, message):
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert message in str(err.value)


def test_schema_names_match_the_registries():
    schema = yaml.safe_load(SCHEMA.read_text())
    archs = schema["properties"]["zoo"]["properties"]["architectures"]["items"]["enum"]
    families = schema["properties"]["generators"]["additionalProperties"]["properties"]["family"]["enum"]
    assert sorted(archs) == list_classifiers()
    assert sorted(families) == list_generators()
