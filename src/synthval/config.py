"""Validate a workflow config against its JSON schema, fill defaults, and check what a schema cannot
(a training set larger than its pool, save epochs past the last epoch), so a bad config stops before
any job starts with a message naming the key."""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, validators

from synthval.data.datasets import NUM_CLASSES, POOL_SIZES, first_images, folder_classes, is_image_name
from synthval.families import FAMILIES, family_of
from synthval.recipes import lira_generators, study_generators
from synthval.schema import SCHEMA_PATH, read_schema
from synthval.zoo import groups


class ConfigError(ValueError):
    """The config is invalid; the message names every offending key."""


_formats = FormatChecker()


@_formats.checks("safe-path")
def _safe_path(value: object) -> bool:
    return not isinstance(value, str) or ".." not in Path(value).parts


def _with_defaults(cls: Any) -> Any:
    base = cls.VALIDATORS["properties"]

    def fill(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = _copy(sub["default"])
        yield from base(validator, properties, instance, schema)

    def fill_additional(validator, extra, instance, schema):
        if isinstance(instance, dict) and isinstance(extra, dict):
            for value in instance.values():
                if isinstance(value, dict):
                    for name, sub in extra.get("properties", {}).items():
                        if "default" in sub and name not in value:
                            value[name] = _copy(sub["default"])
        yield from cls.VALIDATORS["additionalProperties"](validator, extra, instance, schema)

    return validators.extend(cls, {"properties": fill, "additionalProperties": fill_additional})


def _copy(value: Any) -> Any:
    return copy.deepcopy(value)


_Validator = _with_defaults(Draft202012Validator)


def _key(path: Any) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _errors(config: dict, schema: dict) -> Iterator[str]:
    for err in sorted(
        _Validator(schema, format_checker=_formats).iter_errors(config), key=lambda e: list(map(str, e.absolute_path))
    ):
        message = err.message
        if err.validator == "format" and err.validator_value == "safe-path":
            message = f"{err.instance!r} must not contain '..' (paths stay inside the project or are absolute)"
        elif err.validator in ("additionalProperties", "unevaluatedProperties"):
            message = "unknown key(s): " + ", ".join(_unknown_keys(err, message))
            if err.validator == "unevaluatedProperties" and isinstance(err.instance, dict) and "family" in err.instance:
                message += f" (not a setting of family {err.instance['family']!r})"
        elif "propertyNames" in err.schema_path and "architecture_settings" in err.absolute_path:
            message = f"{err.instance!r} is not a registered architecture or rwnn"
        description = (
            err.schema.get("description")
            if err.validator not in ("additionalProperties", "unevaluatedProperties")
            else None
        )
        yield f"config key {_key(err.absolute_path)}: {message}" + (f"  [{description}]" if description else "")


def _allowed_keys(schema: dict) -> set[str]:
    """The keys a (sub)schema names, through its ``allOf``/``if``/``then`` branches."""
    keys = set(schema.get("properties", {}))
    for branch in [*schema.get("allOf", []), *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        keys |= _allowed_keys(branch)
    for part in ("then", "else"):
        if isinstance(schema.get(part), dict):
            keys |= _allowed_keys(schema[part])
    return keys


def _family_keys(schema: dict, family: str) -> set[str]:
    """The keys a generator of ``family`` may have: the common ones and its own branch's."""
    keys = set(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        condition = branch.get("if", {}).get("properties", {}).get("family", {})
        if condition.get("const") == family or family in condition.get("enum", []):
            keys |= _allowed_keys(branch.get("then", {}))
    return keys


def _unknown_keys(err: Any, message: str) -> list[str]:
    """The keys an additional- or unevaluated-properties error is about, each with a did-you-mean
    where a key the schema names is close."""
    allowed = _allowed_keys(err.schema)
    if isinstance(err.instance, dict) and isinstance(err.instance.get("family"), str):
        allowed = _family_keys(err.schema, err.instance["family"])
    patterns = list(err.schema.get("patternProperties", {}))
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):  # not the ^x- pattern's text
        unknown = [k for k in err.instance if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]
    else:
        unknown = [k.strip("'") for k in re.findall(r"'[^']*'", message.split("(", 1)[-1])]
    out = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), sorted(allowed - {key}), n=1, cutoff=0.6)
        out.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return out


def _semantic_errors(config: dict) -> Iterator[str]:
    """What the schema cannot check, section by section, one message per problem."""
    yield from _data_errors(config)
    yield from _imported_classifier_errors(config)
    yield from _generator_errors(config)
    yield from _quality_errors(config)
    yield from _zoo_errors(config)
    yield from _selection_errors(config)
    yield from _training_errors(config)
    yield from _save_epoch_errors(config)


def _data_errors(config: dict) -> Iterator[str]:
    data = config["data"]
    pool = POOL_SIZES.get(data["source"])
    for name, size in data["train_sizes"].items():
        if pool is not None and size >= pool:
            yield (
                f"config key data.train_sizes.{name}: {size} leaves no test images ({data['source']} has {pool} images)"
            )
        if round(size * data["val_fraction"]) >= size:
            yield f"config key data.train_sizes.{name}: {size} is too small to split off a validation set"


def _imported_classifier_errors(config: dict) -> Iterator[str]:
    zoo = config["zoo"]
    if "imported" in zoo["variants"]:
        yield "config key zoo.variants.imported: the variant name of imported classifiers; choose another"
    for name, entry in (zoo.get("imported") or {}).items():
        if name in zoo["architectures"] or name.startswith("rwnn"):  # rwnn<anything>: taken by the generated graphs
            yield f"config key zoo.imported.{name}: the name of an architecture the zoo trains; choose another"
        if (entry["architecture"] == "timm") != bool(entry.get("timm_model")):
            yield f"config key zoo.imported.{name}: timm_model is needed with architecture timm, and only then"


def _generator_errors(config: dict) -> Iterator[str]:
    classes = num_classes(config)
    for name, gen in config["generators"].items():
        if gen["conditioning"] == "per_class" and classes is None:
            yield (
                f"config key generators.{name}.conditioning: per_class needs data.num_classes for source "
                f"{config['data']['source']!r} (one job per class)"
            )
        family = family_of(gen)
        yield from family.problems(name, gen, config)
        if not family.trained and name in config["training"]["generators"]:
            yield (
                f"config key training.generators: {name!r} is imported; the training study needs a generator to "
                "sample training images apart from the validation set"
            )


def default_weights(extractor: str) -> str:
    """Where the config looks for an extractor's weights when ``quality.weights`` is not set (relative to
    the run's folder): where ``synthval weights fetch <extractor>`` writes them."""
    return f"weights/{extractor}.safetensors"


#: The extractors whose published weights ``synthval weights fetch`` gets (synthval.metrics.weights).
FETCHABLE = ("inception", "dinov2", "sscd")


def fill_default_weights(quality: dict) -> dict:
    """``quality`` (a config's quality section, or the command's copy of it) with ``weights`` set to
    :func:`default_weights` where its extractor's published weights can be fetched and none are named."""
    if quality["extractor"] in FETCHABLE and not quality["weights"]:
        quality["weights"] = default_weights(quality["extractor"])
    return quality


def _quality_errors(config: dict) -> Iterator[str]:
    quality = fill_default_weights(config["quality"])
    if quality["extractor"] != "reference" and not quality["weights"]:
        yield (
            f"config key quality.weights: the {quality['extractor']} extractor needs a local safetensors file "
            "(nothing is downloaded)"
        )
    if quality["extractor"] == "timm" and not quality["timm_model"]:
        yield "config key quality.timm_model: the timm extractor needs a model name"


def _zoo_errors(config: dict) -> Iterator[str]:
    zoo = config["zoo"]
    if not zoo["architectures"] and not zoo["random_wired"]["count"]:
        yield "config key zoo.architectures: the zoo is empty (list architectures or set zoo.random_wired.count)"
    rw = zoo["random_wired"]
    if rw["count"] and rw["k"] >= rw["nodes"]:
        yield f"config key zoo.random_wired.k: {rw['k']} needs more than {rw['nodes']} nodes (zoo.random_wired.nodes)"
    try:
        groups(zoo)
    except ValueError as err:
        yield str(err)


def _selection_errors(config: dict) -> Iterator[str]:
    point = config["selection"]["calibration_point"]
    if isinstance(point, dict) and point["ridge"] not in config["selection"]["ridge"]:
        yield (
            f"config key selection.calibration_point.ridge: {point['ridge']} is not one of selection.ridge "
            f"{config['selection']['ridge']}"
        )
    if isinstance(point, dict) and point["models"] not in config["selection"]["calibration_models"]:
        yield (
            f"config key selection.calibration_point.models: {point['models']} is not one of "
            "selection.calibration_models "
            f"{config['selection']['calibration_models']}"
        )


def _training_errors(config: dict) -> Iterator[str]:
    training = config["training"]
    yield from method_problems(training, list(config["generators"]))
    if not method_problems(training, list(config["generators"])):
        yield from lira_problems(config)
    if (
        training["enabled"]
        and training["pretrained_guidance"]["guide"] == "weights"
        and not training["pretrained_guidance"]["weights"]
    ):
        yield "config key training.pretrained_guidance.weights: guide 'weights' needs a classifier safetensors file"


def _save_epoch_errors(config: dict) -> Iterator[str]:
    zoo = config["zoo"]
    longest = max([zoo["epochs"], *(v.get("epochs", 0) for v in zoo["variants"].values())])
    for epoch in zoo["save_epochs"]:
        if epoch > longest:
            yield (
                f"config key zoo.save_epochs: epoch {epoch} is past zoo.epochs ({zoo['epochs']}) and every "
                "variant's epochs"
            )


def method_problems(training: dict, generators: list[str]) -> list[str]:
    """What the schema cannot check in the training study (synthval.recipes): Real Guidance without both
    sources in every batch, and generators that are not configured."""
    problems = []
    for name, method in training["methods"].items():
        if method.get("real_guidance") and method["data"] != "real+synthetic":
            problems.append(
                f"config key training.methods.{name}.real_guidance: Real Guidance needs data real+synthetic (a real "
                "and a synthetic batch each step)"
            )
        elif method.get("real_guidance") and method.get("ratio", 1.0) <= 0:
            problems.append(f"config key training.methods.{name}.ratio: Real Guidance needs a ratio above 0")
    for g in training["generators"]:
        if g not in generators:
            problems.append(
                f"config key training.generators: {g!r} is not a configured generator ({', '.join(generators)})"
            )
    return problems


def canonical(settings: dict) -> dict:
    """Settings with sorted keys: Snakemake compares params by their text, so the order in which a
    config file happens to list keys must not count as a change."""
    return dict(sorted(settings.items()))


# --- what each job depends on of the config (its params: an edit reruns exactly the jobs that read it)


def data_settings(config: dict, trainset: str) -> dict:
    """What one training set's splits depend on (not the other sizes, so adding one reruns nothing)."""
    settings = {k: v for k, v in config["data"].items() if k != "train_sizes"}
    return canonical({**settings, "size": config["data"]["train_sizes"][trainset]})


def augmented_settings(config: dict) -> dict:
    """What the augmented splits depend on (not whether they are enabled)."""
    return canonical({k: v for k, v in config["augmented_validation"].items() if k != "enabled"})


#: The quality settings features depend on: the extractor, not the metrics.
EXTRACTOR_KEYS = ("extractor", "weights", "timm_model", "input_size")


def extractor_settings(config: dict) -> dict:
    return canonical({k: config["quality"][k] for k in EXTRACTOR_KEYS})


#: Generator settings only synthesis reads (pseudo-labelling); training reads the rest.
SYNTHESIS_ONLY = ("confidence", "max_draws")

#: Each trained family's architecture: its generator's constructor keywords, saved with the weights
#: (synthval.families; tests/test_generators.py keeps them equal to the constructors). A section's other keys
#: are the job's (:data:`GENERATOR_JOB_KEYS`), synthesis-only, or the family trainer's settings.
ARCHITECTURE_KEYS: dict[str, tuple[str, ...]] = {n: f.architecture for n, f in FAMILIES.items() if f.trained}

#: What the training job itself reads of a generator's section: which family, what labels training
#: sees, and how many images each checkpoint score samples.
GENERATOR_JOB_KEYS = ("family", "conditioning", "eval_samples")


def split_generator_settings(family: str, settings: dict) -> tuple[dict, dict]:
    """``settings`` split into the family's architecture (:data:`ARCHITECTURE_KEYS`) and the rest."""
    arch = ARCHITECTURE_KEYS[family]
    return {k: v for k, v in settings.items() if k in arch}, {k: v for k, v in settings.items() if k not in arch}


def generator_spec(section: dict) -> dict:
    """How one generator is trained, decided once from its section: ``family``; ``conditioning``
    (``class``: labels as they are; ``per_class``: one one-class generator per class; ``pseudo_label``:
    unconditional, labelled at synthesis); ``architecture`` (its constructor's keywords, saved with the
    weights); ``training`` (what :func:`synthval.generators.train_generator` and the family's trainer
    take); ``eval_samples`` (images per checkpoint score). The synthesis-only keys are left out, so
    editing them resamples without retraining."""
    job = {k: section[k] for k in GENERATOR_JOB_KEYS}
    rest = {k: v for k, v in sorted(section.items()) if k not in (*GENERATOR_JOB_KEYS, *SYNTHESIS_ONLY)}
    architecture, training = split_generator_settings(section["family"], rest)
    return {**job, "architecture": architecture, "training": training}


def generator_synthesis_settings(section: dict) -> dict:
    """What sampling a shard depends on besides the generator's weights: how its labels are made
    (``conditioning``, which training reads too, and the synthesis-only keys)."""
    return {k: section[k] for k in ("conditioning", *SYNTHESIS_ONLY) if k in section}


def num_classes(config: dict) -> int | None:
    """The class count: the source's own, or ``data.num_classes`` for folders and tables."""
    return NUM_CLASSES.get(config["data"]["source"], config["data"].get("num_classes"))


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """Fill defaults into ``config`` in place and return it; raise :class:`ConfigError` listing every problem.
    An image folder's ``data.num_classes``, when not given, is its number of class folders (where the
    folder is there to count)."""
    schema = read_schema(Path(schema_path))
    problems = list(_errors(config, schema))
    if not problems:
        _infer_num_classes(config["data"])
        problems = list(_semantic_errors(config))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return config


def _infer_num_classes(data: dict) -> None:
    root = Path(data["root"])
    if data["source"] == "imagefolder" and data.get("num_classes") is None and root.is_dir():
        data["num_classes"] = len(folder_classes(root)) or None


def read_config_file(path: str | Path) -> dict:
    """A config file's mapping; a YAML error names the file, line and column (:class:`ConfigError`)."""
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(str(getattr(err, "problem", None) or err).split())
        raise ConfigError(f"{where}: not valid YAML: {what}") from err
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config is a mapping of keys (data:, zoo: ...), not a {type(config).__name__}")
    return config


def load_config(path: str | Path, schema_path: str | Path = SCHEMA_PATH) -> dict:
    return validate_config(read_config_file(path), schema_path)


def data_problems(config: dict) -> list[str]:
    """What the data of a validated config lacks, checked on disk before any job starts: the root, an
    image folder's class folders (none empty, as many as ``data.num_classes``) and a training set smaller
    than the pool, and the first image of each class readable. Reads folder listings and headers (of tables,
    of those first images), never pixels; one message per problem."""
    data = config["data"]
    source, root = data["source"], Path(data["root"])
    pool = POOL_SIZES.get(source)
    if source == "imagefolder":
        problems, pool = _folder_problems(data, root)
        if problems:
            return problems
    elif source in ("parquet", "npz"):
        if not root.is_file():
            return [f"config key data.root: no {source} file at {root}"]
        pool = _table_rows(source, root)
    elif source in ("cifar10", "cifar100", "mnist") and not data["download"]:
        folder = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python", "mnist": "MNIST/raw"}[source]
        if not (root / folder).is_dir():
            return [f"config key data.root: {source} is not in {root / folder} (set data.download: true to fetch it)"]
    if source in POOL_SIZES or pool is None:  # the built-in sizes are checked with the config
        return []
    return [
        f"config key data.train_sizes.{name}: {size} leaves no test images ({root} has {pool})"
        for name, size in data["train_sizes"].items()
        if size >= pool
    ]


def check_data(config: dict, warn_only: bool = False) -> None:
    """:func:`data_problems` as a :class:`ConfigError` (the Snakefile's check, before any job), or with
    ``warn_only`` (a dry run) one line each on stderr."""
    problems = data_problems(config)
    if problems and warn_only:
        for problem in problems:
            print(f"warning: {problem} (a real run stops here)", file=sys.stderr)
    elif problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def _folder_problems(data: dict, root: Path) -> tuple[list[str], int | None]:
    """An image folder's problems (none: its image count): no folder, no class folders, a class count other
    than ``data.num_classes``, an empty class folder, a first image that is not one."""
    if not root.is_dir():
        return [
            f"config key data.root: no image folder at {root} (source imagefolder reads root/<class>/<image>)"
        ], None
    classes = folder_classes(root)
    if not classes:
        return [f"config key data.root: {root} has no class folders (source imagefolder: root/<class>/<image>)"], None
    if data.get("num_classes") not in (None, len(classes)):
        shown = f"{', '.join(classes[:12])}{', ...' if len(classes) > 12 else ''}"
        return [
            f"config key data.num_classes: {data['num_classes']}, but {root} has {len(classes)} class folders ({shown})"
        ], None
    firsts = first_images(root, classes)
    if empty := [c for c, first in firsts.items() if first is None]:
        return [f"config key data.root: class folder(s) {', '.join(empty)} of {root} hold no images"], None
    if unreadable := _unreadable(list(firsts.values())):
        return unreadable, None
    return [], _count_images(root, classes)


def _unreadable(paths: list) -> list[str]:
    """One message for the first of ``paths`` that is not an image (its header is read, not its pixels)."""
    from PIL import Image, UnidentifiedImageError

    for path in paths:
        try:
            with Image.open(path):
                pass
        except (OSError, UnidentifiedImageError) as err:
            return [f"config key data.root: {path} is not an image PIL can read ({' '.join(str(err).split())})"]
    return []


def data_facts(config: dict) -> str | None:
    """An image folder in one line, for the plan: its classes, images, the first images' sizes and modes,
    and what the config brings them to (None for the other sources, or a folder that is not there)."""
    from PIL import Image

    data = config["data"]
    root = Path(data["root"])
    if data["source"] != "imagefolder" or not root.is_dir():
        return None
    classes = folder_classes(root)
    firsts = [p for p in first_images(root, classes).values() if p is not None]
    seen = set()
    for path in firsts:
        with Image.open(path) as image:
            seen.add(f"{image.width}x{image.height} {image.mode}")
    size, channels = data["image_size"], data["channels"]
    shown = ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")
    return (
        f"data: {_count_images(root, classes):,} images in {len(classes)} classes ({shown}), labelled in that "
        f"order; the first of each class {' / '.join(sorted(seen))}; brought to {size}x{size}"
        + (f" with {channels} channel(s)" if channels else ", channels as the folder has them")
    )


def _count_images(root: Path, classes: list[str]) -> int:
    """The image files of an image folder: one listing of each class folder, kept while the folders are
    unchanged (the checks and the plan's data line both ask, and ImageNet's folder holds 1.28M files)."""
    changed = tuple((root / c).stat().st_mtime_ns for c in classes)
    return _counted(root.resolve(), tuple(classes), changed)


@functools.lru_cache(maxsize=8)
def _counted(root: Path, classes: tuple[str, ...], changed: tuple[int, ...]) -> int:
    del changed  # part of the cache key only
    return sum(1 for c in classes for e in os.scandir(root / c) if is_image_name(e.name))


def _table_rows(source: str, path: Path) -> int | None:
    try:
        if source == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        import numpy as np

        with np.load(path, allow_pickle=False) as arrays:
            return len(arrays["labels"]) if "labels" in arrays.files else None
    except (OSError, ValueError):
        return None  # unreadable: prepare_data says why


def lira_problems(config: dict) -> list[str]:
    """What the schema cannot check in ``privacy.lira``: methods the study lacks, and methods whose models
    would see the whole pool (a guide or a generator trained on all of it) or a set of another size."""
    lira, training = config["privacy"]["lira"], config["training"]
    if not (lira["enabled"] and training["enabled"]):
        return []
    problems = []
    for name in lira["methods"]:
        method = training["methods"].get(name)
        if method is None:
            problems.append(
                f"config key privacy.lira.methods: {name!r} is not a method of training.methods "
                f"({', '.join(training['methods'])})"
            )
        elif method.get("pretrained_guidance"):
            problems.append(
                f"config key privacy.lira.methods: {name!r} uses Pretrained Guidance, whose guide saw the whole "
                "pool; attack its method without guidance"
            )
        elif method.get("scale", 1) != 1:
            problems.append(
                f"config key privacy.lira.methods: {name!r} has scale {method['scale']}; LiRA attacks scale 1"
            )
    study = study_generators(config)
    unknown = [name for name in lira["generators"] if name not in study]
    for name in unknown:
        problems.append(
            f"config key privacy.lira.generators: {name!r} is not a generator of the training study "
            f"({', '.join(study)})"
        )
    for name in [g for g in lira_generators(config) if g not in unknown]:  # trained once per pool half
        gen = config["generators"][name]
        if gen["conditioning"] in ("per_class", "pseudo_label"):
            problems.append(
                f"config key privacy.lira.methods: generator {name!r} is {gen['conditioning']}; LiRA trains one "
                "class-conditional generator per pool half (pseudo-labels would come from a reference that saw "
                "the whole pool)"
            )
    return problems
