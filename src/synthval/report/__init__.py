"""The report: figures (figures.py), HTML building blocks (html.py) and the assembled page (build.py)."""

from typing import Any


def leaves(files: Any) -> list[str]:
    """Every path in a nested dict/list of files, in order (the report rule's inputs are the leaves of
    the workflow's ``report_files()``)."""
    if isinstance(files, dict):
        return [p for v in files.values() for p in leaves(v)]
    if isinstance(files, list | tuple):
        return [p for v in files for p in leaves(v)]
    return [str(files)]
