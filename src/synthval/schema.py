"""The config's JSON schema (package data: ``config.schema.yaml``), the single source of every
default: the workflow fills a config from it (:func:`synthval.config.validate_config`), and the
library's settings classes (``TrainSettings``, ``QualitySettings``) take their defaults from it, so a
script and a workflow run given the same keys train and measure the same way."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: The schema file; workflow/schemas/config.schema.yaml links to it.
SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


@cache
def read_schema(path: Path) -> dict:
    """The schema file at ``path``, parsed once per process (callers must not change it). Through libyaml's
    parser where PyYAML has it: the same safe constructor, so the same values, at a tenth of the time (every
    Snakemake invocation reads the schema while it plans)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader


def schema() -> dict:
    """The parsed schema (a copy: callers may change it)."""
    return copy.deepcopy(read_schema(SCHEMA_PATH))


def defaults(section: str) -> dict[str, Any]:
    """The defaults of the keys of a top-level config section (e.g. ``zoo``, ``quality``), as the
    schema states them (lists stay lists)."""
    properties = read_schema(SCHEMA_PATH)["properties"][section]["properties"]
    return {name: copy.deepcopy(sub["default"]) for name, sub in properties.items() if "default" in sub}
