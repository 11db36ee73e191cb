"""What a run will do, in a dozen lines, before any job starts: its jobs by stage, the costly parts
named, and a rough time on a CPU like the one the project measures its default on.

The estimate multiplies each rule's CPU seconds per job in the embedded default (``stage_costs.json``,
written by ``bench/demo.py`` from a ``make demo`` run's benchmark files) by how much more work a job of
this config does: training images x pixels, and epochs or iterations for the training rules. It is an
order of magnitude for a CPU run, not a promise; on a GPU the training rules take far less.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

#: The rules files of the workflow, whose names are the stages (``workflow/rules/<stage>.smk``).
RULES = Path(__file__).resolve().parents[3] / "workflow" / "rules"

#: Rules made by ``use rule X as Y`` cost what X costs; rules without a figure cost this many seconds.
OTHER_SECONDS = 2.0


def base_name(rule: str) -> str:
    """A rule's name without the epochs of a group of zoo variants (``train_classifier_30ep``)."""
    return re.sub(r"_\d+ep$", "", rule)


def rule_stages(rules: Path = RULES) -> dict[str, str]:
    """Each rule's stage: the rules file that defines it (empty where the workflow is not on disk); the
    zoo's rules, named in a loop, are the classifiers'."""
    stages: dict[str, str] = {"train_classifier": "classifiers"}
    for smk in sorted(rules.glob("*.smk")):
        text = smk.read_text()
        for name in re.findall(r"^(?:rule|checkpoint) (\w+):", text, re.M):
            stages[name] = smk.stem
        for _base, name in re.findall(r"^use rule (\w+) as (\w+)", text, re.M):
            stages[name] = smk.stem
    return stages


def rule_bases(rules: Path = RULES) -> dict[str, str]:
    """``use rule X as Y``: Y's base rule X (its cost stands for Y's)."""
    bases: dict[str, str] = {}
    for smk in sorted(rules.glob("*.smk")):
        bases.update({name: base for base, name in re.findall(r"^use rule (\w+) as (\w+)", smk.read_text(), re.M)})
    return bases


def read_costs() -> dict:
    return json.loads((Path(__file__).with_name("stage_costs.json")).read_text())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def work_factors(config: dict, scale: dict) -> dict[str, float]:
    """How many times a job of each kind does the work of the default's: images x pixels for every rule,
    times epochs (the zoo, the study) or iterations (generators) for the training rules."""
    data = config["data"]
    images = _mean(list(data["train_sizes"].values())) / scale["images"]
    pixels = (data["image_size"] / scale["image_size"]) ** 2
    base = images * pixels
    iterations = [g.get("iterations") for g in config["generators"].values() if g.get("iterations")]
    return {
        "data": base,
        "train_classifier": base * config["zoo"]["epochs"] / scale["zoo_epochs"],
        "train_recipe": base * config["training"]["epochs"] / scale["study_epochs"],
        # a generator's step costs its batch, not the training set: iterations x pixels
        "train_generator": pixels * (_mean(iterations) / scale["generator_iterations"] if iterations else 1.0),
    }


def estimate_seconds(config: dict, counts: Counter[str], costs: dict | None = None) -> float:
    """CPU seconds of ``counts`` jobs (by rule) at the default's per-job costs scaled by :func:`work_factors`."""
    costs = costs or read_costs()
    per_job, factors, bases = costs["cpu_seconds_per_job"], work_factors(config, costs["scale"]), rule_bases()
    total = 0.0
    for rule, n in counts.items():
        base = bases.get(rule, base_name(rule))
        if base == "all":
            continue
        factor = factors.get(base, factors["data"])
        total += n * per_job.get(base, OTHER_SECONDS) * (factor if base in per_job else 1.0)
    return total


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def costly_parts(config: dict, counts: Counter[str]) -> list[str]:
    """The parts of the plan that dominate its cost, named with the keys that set them."""
    parts = []
    lira = counts.get("train_lira", 0) + counts.get("train_lira_generator", 0)
    if lira:
        parts.append(
            f"LiRA: {counts.get('train_lira', 0)} models and {counts.get('train_lira_generator', 0)} generators "
            "(privacy.lira; off: privacy.lira.enabled false)"
        )
    generators = counts.get("train_generator", 0) + counts.get("train_class_generator", 0)
    if generators:
        parts.append(f"generators: {generators} trained (generators)")
    if zoo := sum(n for r, n in counts.items() if base_name(r) == "train_classifier"):
        parts.append(f"zoo: {zoo} training jobs (zoo.architectures, variants, seeds)")
    if counts.get("train_recipe"):
        scaling = config["training"]["scaling"]
        parts.append(
            f"training study: {counts['train_recipe']} runs (training.methods x seeds, scaling {scaling}; off: "
            "training.enabled false)"
        )
    if counts.get("shift_split"):
        parts.append(f"shift: {counts['shift_split']} shifted test sets (robustness)")
    return parts


def plan_summary(config: dict, counts: Counter[str], cores: int | None = None, dry_run: bool = False) -> str:
    """The summary printed before a run starts (``counts``: its jobs by rule, as Snakemake planned them)."""
    stages, total = rule_stages(), sum(n for r, n in counts.items() if r != "all")
    by_stage: dict[str, Counter[str]] = {}
    for rule, n in counts.items():
        if rule != "all":
            by_stage.setdefault(stages.get(base_name(rule), "other"), Counter())[rule] += n
    verb = "would run" if dry_run else "will run"
    lines = [f"synthval plan: {total} jobs {verb}" + ("" if total else " (everything is up to date)")]
    width = max((len(s) for s in by_stage), default=0)
    for stage, rules in sorted(by_stage.items(), key=lambda kv: -sum(kv[1].values())):
        detail = ", ".join(f"{r} {n}" for r, n in rules.most_common())
        lines.append(f"  {stage:<{width}}  {sum(rules.values()):>5}  {detail}")
    if parts := costly_parts(config, counts):
        lines.append("  costly: " + "; ".join(parts))
    if total:
        costs = read_costs()
        cpu = estimate_seconds(config, counts, costs)
        on = f", ~{_duration(cpu / cores)} on {cores} cores at best" if cores and cores > 1 else ""
        lines.append(
            f"  estimate: ~{_duration(cpu)} of CPU time{on}, from the default's per-job costs on a 2-core CPU "
            "(synthval/plan/stage_costs.json) scaled by images x pixels x epochs; a GPU trains far faster"
        )
    return "\n".join(lines)


def parse_job_stats(text: str) -> Counter[str]:
    """Jobs by rule from the ``Job stats`` table Snakemake prints (the last one in ``text``)."""
    at = text.rfind("Job stats:")
    counts: Counter[str] = Counter()
    if at < 0:
        return counts
    for line in text[at:].splitlines()[3:]:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit() or fields[0] == "total":
            if counts and (len(fields) != 2 or fields[0] == "total"):
                break
            continue
        counts[fields[0]] += int(fields[1])
    return counts


def rules_to_run(workflow) -> Counter[str] | None:
    """Jobs by rule that this Snakemake run will run (its DAG, as ``onstart`` sees it), or None where this
    Snakemake's DAG does not say."""
    try:
        return Counter(job.rule.name for job in workflow.dag.needrun_jobs())
    except AttributeError:
        return None


def run_cores(workflow) -> int | None:
    """The cores of a local run (``--cores``), or None where jobs go to a cluster or it is not known."""
    try:
        return int(workflow.resource_settings.cores) if workflow.local_exec else None
    except (AttributeError, TypeError, ValueError):
        return None
