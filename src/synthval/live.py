"""Metrics of a running job, one JSON object a line, beside its resume state, so a long job can be
watched (``tail -f``, the report's partial mode) before it writes its outputs. Torch-free: the report
reads these without loading torch."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthval.io import atomic_path


class LiveLog:
    """A job's metrics, one JSON object a line (its keys in the order they were computed, so a history
    read back is the one that was written, column for column), appended and flushed as each is computed.

    :meth:`restart` rewrites the file with what a resumed state already holds, so lines written after
    the last checkpoint (whose steps are run again) are not doubled. The file outlives the job.
    """

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)  # None: write nothing (a rank but the first)

    def restart(self, records: Iterable[dict[str, Any]] = ()) -> None:
        if self.path is None:
            return
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in records))

    def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self.path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")


def read_live_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a :class:`LiveLog` (a line being written while this reads is left out)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records
