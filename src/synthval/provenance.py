"""Which library code a workflow script runs, as a digest that rules put in their ``params``.

Snakemake reruns a job when its script changes, but not when a library module the script imports
changes. :func:`code_digest` follows the script's ``synthval`` imports (every ``import`` statement,
including those inside functions, and the ``__init__`` of every package on the way) and hashes what
it reaches, so editing ``synthval/report/build.py`` reruns the report and nothing else, and editing
``synthval/io.py``, which every job uses, reruns everything.

Each module is hashed as its syntax tree with docstrings removed (``ast.unparse``), so comments,
docstrings and formatting can change without rerunning a multi-day study; a new Python version may
unparse differently and rerun jobs once. Torch-free: this runs while Snakemake builds the DAG.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import NamedTuple

PACKAGE = "synthval"
SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the synthval package
#: Package data a module reads as it runs, which changes what it makes as its code does: the report's
#: section templates and figure captions (a folder under the package, every file in it hashed as bytes).
MODULE_DATA = {"synthval.report.sections": "report/templates"}
#: Modules that decide how a job is started, not what it makes: every script imports them, and an edit
#: to them must not rerun a study.
NOT_DIGESTED = frozenset({"synthval.forkserver"})


def _module_file(module: str, root: Path) -> Path | None:
    """The file of ``synthval.x.y`` under ``root``: ``synthval/x/y.py`` or ``synthval/x/y/__init__.py``."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(module: str) -> list[str]:
    """``synthval.a.b`` -> [synthval, synthval.a, synthval.a.b]: importing a module runs its packages' __init__."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The synthval modules a syntax tree imports (``from x import name`` may name a submodule)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


class _Facts(NamedTuple):
    """What provenance needs from one source file: its normalised text and the synthval modules it imports."""

    text: str
    imports: frozenset[str]


#: Bumped when what :func:`_facts` records changes, so that older cache files are not read.
_FACTS_VERSION = 1


def _facts(path: Path, module: str) -> _Facts:
    """The :class:`_Facts` of the file of ``module``, worked out once per file version. Every rule's digest
    follows the same modules, and parsing, stripping and printing ~140 syntax trees was most of a dry run's
    time (~2 of 7 CPU-s for the tiny config), paid again by each Snakemake invocation and each SLURM job.
    So each file's facts are also kept beside it, as Python keeps bytecode (``__pycache__/<name>.facts.json``,
    valid for the exact source bytes, module name and Python version; written atomically, skipped where the
    folder is read-only)."""
    stat = path.stat()
    return _facts_of(path, stat.st_mtime_ns, stat.st_size, module)


@cache
def _facts_of(path: Path, mtime_ns: int, size: int, module: str) -> _Facts:
    source = path.read_bytes()
    stamp = hashlib.sha256(
        f"{_FACTS_VERSION}\0{sys.version_info[:2]}\0{module}\0{path.name}\0".encode() + source
    ).hexdigest()
    kept = path.parent / "__pycache__" / f"{path.stem}.facts.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        record = json.loads(kept.read_text())
        if record["stamp"] == stamp:
            return _Facts(record["text"], frozenset(record["imports"]))
    tree = _strip_docstrings(ast.parse(source, filename=str(path)))
    facts = _Facts(ast.unparse(tree), frozenset(_imports(tree, module, path.name == "__init__.py")))
    with contextlib.suppress(OSError):
        kept.parent.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=kept.parent, suffix=".tmp", delete=False) as fh:
            json.dump({"stamp": stamp, "text": facts.text, "imports": sorted(facts.imports)}, fh)
        os.replace(fh.name, kept)
    return facts


def library_modules(script: str | Path, root: Path = SOURCE_ROOT) -> dict[str, Path]:
    """Every synthval module ``script`` runs, by name, found under ``root``."""
    pending = sorted(_facts(Path(script).resolve(), "__main__").imports)
    seen: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        for module in _with_parents(name):
            if module in seen:
                continue
            path = _module_file(module, root)
            if path is None:  # a name imported from a module, not a submodule
                continue
            seen[module] = path
            pending.extend(_facts(path, module).imports)
    return dict(sorted(seen.items()))


def _data_files(module: str, root: Path) -> list[Path]:
    """The package data ``module`` reads (:data:`MODULE_DATA`), in a fixed order."""
    folder = MODULE_DATA.get(module)
    return sorted(p for p in (root / PACKAGE / folder).rglob("*") if p.is_file()) if folder else []


@cache
def code_digest(script: str | Path, root: Path = SOURCE_ROOT, plan: str | None = None) -> str:
    """sha256 (first 16 hex digits) over the normalised text of every synthval module ``script`` runs,
    and of ``plan``, the module of the workflow's plan that decides the job's inputs and settings
    (``synthval.plan.generators``): its own text only, not what it imports, so editing one stage's plan
    reruns that stage's jobs and no others; and of the package data those modules read (:data:`MODULE_DATA`).
    Cached for the life of the process (one Snakemake invocation)."""
    modules = {name: path for name, path in library_modules(script, root).items() if name not in NOT_DIGESTED}
    if plan is not None and (plan_file := _module_file(plan, root)) is not None:
        modules = dict(sorted({**modules, plan: plan_file}.items()))
    digest = hashlib.sha256()
    for module, path in modules.items():
        digest.update(module.encode() + b"\0" + _facts(path, module).text.encode() + b"\0")
        for data in _data_files(module, root):
            digest.update(data.relative_to(root).as_posix().encode() + b"\0" + data.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
