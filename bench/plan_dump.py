"""Every job a config plans, with what it reads and how it is set: one JSON line per job (rule, wildcards,
input, output, params, threads, resources), sorted. Two dumps of the same config compare a change to the
workflow's plan: a refactor that moves decisions must leave them equal.

    .venv/bin/python bench/plan_dump.py config/config.yaml before.jsonl [FILE THE CONFIG READS...]
    ... edit ...
    .venv/bin/python bench/plan_dump.py config/config.yaml after.jsonl && diff before.jsonl after.jsonl

Each config is planned from scratch (``--forceall``) in an empty folder, so no data need be present. The
code digests in ``params.code`` are printed as they are: they change exactly when the library code a job
runs changes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _named(io) -> dict:
    """A Snakemake Namedlist as {name: value} for its named entries and a list of the rest."""
    names = dict(io._names) if hasattr(io, "_names") else {}
    named = {name: _plain(io[start:end] if end is not None else io[start]) for name, (start, end) in names.items()}
    return {"named": named, "all": [str(x) for x in io]}


def dump(config: str, present: list[str] = ()) -> list[str]:
    """The planned jobs of ``config`` as sorted JSON lines; ``present`` names files a config reads from
    the working folder (imported samples), made empty there so that planning finds them."""
    from snakemake.cli import main
    from snakemake.executors import dryrun

    lines: list[str] = []

    def run_job(self, job):
        jobs = job.jobs if job.is_group() else [job]
        for j in jobs:
            resources = {k: _plain(v) for k, v in j.resources.items() if k not in ("_cores", "_nodes", "tmpdir")}
            entry = {
                "rule": j.rule.name,
                "wildcards": _plain(dict(j.wildcards_dict)),
                "input": _named(j.input),
                "output": _named(j.output),
                "params": _named(j.params),
                "threads": j.threads,
                "resources": resources,
                "log": [str(x) for x in j.log],
            }
            lines.append(json.dumps(entry, sort_keys=True))
        original(self, job)

    original = dryrun.Executor.run_job
    dryrun.Executor.run_job = run_job
    with tempfile.TemporaryDirectory() as work:
        for name in present:
            Path(work, name).touch()
        args = ["-s", str(ROOT / "Snakefile"), "--directory", work, "--configfile", config]
        args += ["--cores", "1", "-n", "--forceall", "--quiet", "all"]
        try:
            main(args)
        except SystemExit as exit:
            if exit.code:
                raise
        finally:
            dryrun.Executor.run_job = original
    return sorted(lines)


if __name__ == "__main__":
    jobs = dump(sys.argv[1], sys.argv[3:])
    Path(sys.argv[2]).write_text("".join(line + "\n" for line in jobs))
