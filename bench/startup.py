"""Per-job start-up: what each workflow script's job pays before its work (a fresh interpreter, the
Snakemake script module and the script's own imports), and what the embedded default spends on it in
all, for this checkout and an earlier revision side by side.

    python bench/startup.py [--before REV] [--config config/config.yaml] [--repeats 5] [--out bench/results/startup.md]

Each script's top-level imports run in a fresh ``python -c`` (median of ``--repeats``, on an otherwise
idle machine); the job counts come from a dry run of ``--config`` in each tree (``snakemake -n``). A
job's whole start-up also includes Snakemake unpickling its job (a fraction of a second) and, under
load, the cores it shares; the sums below count imports alone. ``--before`` checks the revision out in
a temporary git worktree and runs it with its own ``src/`` first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report import emit, machine

ROOT = Path(__file__).resolve().parents[1]


def imports_of(script: Path) -> str:
    """The script's top-level import statements (possibly spanning lines), as one program."""
    text = script.read_text()
    statements = re.findall(r"^(?:from \S+ import \([^)]*\)|from \S+ import [^\n]+|import [^\n]+)", text, re.M)
    return "\n".join(s for s in statements if "__future__" not in s)


def import_seconds(tree: Path, script: Path, repeats: int) -> tuple[float, bool]:
    """Median wall time of a fresh interpreter running the Snakemake script module and the script's
    imports, and whether torch got imported."""
    program = "import snakemake.script\n" + imports_of(script) + "\nimport sys\nprint('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    times, uses_torch = [], False
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", program], cwd=tree, env=env, capture_output=True, text=True, check=True
        ).stdout
        times.append(time.perf_counter() - t0)
        uses_torch = out.strip().endswith("True")
    return statistics.median(times), uses_torch


def rule_scripts(tree: Path) -> dict[str, str]:
    """Rule name -> script, from the rule files (rules defined in a loop share their script; the zoo's
    train_classifier_<N>ep rules resolve to train_classifier.py by prefix)."""
    out: dict[str, str] = {}
    for smk in sorted((tree / "workflow" / "rules").glob("*.smk")):
        rule = None
        for line in smk.read_text().splitlines():
            if m := re.match(r"\s*rule\s+(\w+):", line):
                rule = m.group(1)
            elif m := re.search(r"\.\./scripts/(\w+\.py)", line):
                if rule:
                    out[rule] = m.group(1)
                rule = None
    out.setdefault("train_classifier", "train_classifier.py")
    return out


def job_counts(tree: Path, config: Path) -> dict[str, int]:
    """Rule -> jobs of a dry run of ``config`` in ``tree``."""
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(tree / "Snakefile"),
            "--directory",
            workdir,
            "--configfile",
            str(config),
            "-n",
            "--quiet",
            "rules",
            "--cores",
            "2",
        ]
        out = subprocess.run(
            cmd, env={**os.environ, "PYTHONPATH": str(tree / "src")}, capture_output=True, text=True, check=True
        ).stdout
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("job", "total"):
            counts[parts[0]] = int(parts[1])
    return counts


def measure(
    tree: Path, config: Path, repeats: int
) -> tuple[dict[str, tuple[float, bool]], dict[str, int], dict[str, str]]:
    scripts = sorted((tree / "workflow" / "scripts").glob("*.py"))
    seconds = {s.name: import_seconds(tree, s, repeats) for s in scripts}
    return seconds, job_counts(tree, config), rule_scripts(tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="964b04a", help="the revision to compare with")
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "config.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before_tree), args.before],
            check=True,
            capture_output=True,
        )
        try:
            before = measure(before_tree, args.config.resolve(), args.repeats)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_tree)],
                check=True,
                capture_output=True,
            )
    after = measure(ROOT, args.config.resolve(), args.repeats)
    rows, totals = [], {"before": [0, 0.0], "after": [0, 0.0]}
    for script in sorted(set(before[0]) | set(after[0])):
        cells = [f"`{script}`"]
        for label, (seconds, counts, scripts) in (("before", before), ("after", after)):
            jobs = sum(
                n
                for rule, n in counts.items()
                if scripts.get(rule) == script
                or (script == "train_classifier.py" and rule.startswith("train_classifier_"))
            )
            if script in seconds:
                s, torch_used = seconds[script]
                cells += [str(jobs), f"{s:.2f}" + ("" if torch_used else " (no torch)"), f"{jobs * s:.0f}"]
                totals[label][0] += jobs
                totals[label][1] += jobs * s
            else:
                cells += ["-", "-", "-"]
        rows.append(cells)
    rows.append(
        [
            "**all scripted jobs**",
            str(totals["before"][0]),
            "",
            f"**{totals['before'][1]:.0f}**",
            str(totals["after"][0]),
            "",
            f"**{totals['after'][1]:.0f}**",
        ]
    )
    emit(
        f"{machine(1)} (one job at a time, idle machine); Python {sys.version.split()[0]}; config "
        f"{args.config.name}; before = {args.before}, after = this checkout; median of {args.repeats} fresh "
        f"interpreters per script",
        ["script", "jobs before", "start-up s before", "job-s before", "jobs after", "start-up s after", "job-s after"],
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
