"""Validate a workflow config against its JSON schema, fill defaults, and check what a schema cannot
(a training set larger than its pool, save epochs past the last epoch), so a bad config stops before
any job starts with a message naming the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, validators

from synthval.data.datasets import POOL_SIZES


class ConfigError(ValueError):
    """The config is invalid; the message names every offending key."""


_formats = FormatChecker()


@_formats.checks("safe-path")
def _safe_path(value: object) -> bool:
    return not isinstance(value, str) or ".." not in Path(value).parts


def _with_defaults(cls: type) -> type:
    base = cls.VALIDATORS["properties"]

    def fill(validator, properties, instance, schema):  # noqa: ANN001, ANN202 - jsonschema hook
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = _copy(sub["default"])
        yield from base(validator, properties, instance, schema)

    def fill_additional(validator, extra, instance, schema):  # noqa: ANN001, ANN202
        if isinstance(instance, dict) and isinstance(extra, dict):
            for value in instance.values():
                if isinstance(value, dict):
                    for name, sub in extra.get("properties", {}).items():
                        if "default" in sub and name not in value:
                            value[name] = _copy(sub["default"])
        yield from cls.VALIDATORS["additionalProperties"](validator, extra, instance, schema)

    return validators.extend(cls, {"properties": fill, "additionalProperties": fill_additional})


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


_Validator = _with_defaults(Draft202012Validator)


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _errors(config: dict, schema: dict) -> Iterator[str]:
    for err in sorted(_Validator(schema, format_checker=_formats).iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        message = err.message
        if err.validator == "format" and err.validator_value == "safe-path":
            message = f"{err.instance!r} must not contain '..' (paths stay inside the project or are absolute)"
        elif err.validator == "additionalProperties":
            message = f"unknown key(s): {message.split('(')[-1].rstrip(')')}"
        description = err.schema.get("description") if err.validator != "additionalProperties" else None
        yield f"config key {_key(err.absolute_path)}: {message}" + (f"  [{description}]" if description else "")


def _semantic_errors(config: dict) -> Iterator[str]:
    data = config["data"]
    pool = POOL_SIZES.get(data["source"])
    for name, size in data["train_sizes"].items():
        if pool is not None and size >= pool:
            yield f"config key data.train_sizes.{name}: {size} leaves no test images ({data['source']} has {pool} images)"
        if round(size * data["val_fraction"]) >= size:
            yield f"config key data.train_sizes.{name}: {size} is too small to split off a validation set"
    zoo = config["zoo"]
    for epoch in zoo["save_epochs"]:
        if epoch > zoo["epochs"]:
            yield f"config key zoo.save_epochs: epoch {epoch} is past zoo.epochs ({zoo['epochs']})"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults into ``config`` in place and return it; raise :class:`ConfigError` listing every problem."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    problems = list(_errors(config, schema))
    if not problems:
        problems = list(_semantic_errors(config))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return config


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    return validate_config(config, schema_path)
