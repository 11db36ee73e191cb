"""Assemble the report from the workflow's tables and figures (it never re-runs a network).

This module reads the files :func:`synthval.plan.report.report_inputs` names and puts the sections
(:mod:`synthval.report.sections`) and findings (:mod:`synthval.report.findings`) on one page. Every
section reads only what it needs and, where the run has not made it yet, says what is missing instead of
failing: the same code renders the complete report (rule ``render_report``) and the report of a partial
or failed run (rule ``partial_report``, and the workflow's hook, :func:`leave_partial_report`).
"""

from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from synthval.evaluation.study import method_summary
from synthval.io import read_frame, read_json
from synthval.plan.paths import partial_report_html, report_html
from synthval.plan.report import ReportInputs, report_inputs
from synthval.plan.study import Study
from synthval.questions import ASKS, QUESTIONS
from synthval.report import sections
from synthval.report.answer import SHORT, answer_html, answer_rows, answer_text, pooled_first
from synthval.report.figures import Figures
from synthval.report.findings import (
    Finding,
    calibration_findings,
    corollary_findings,
    family_line,
    privacy_findings,
    protocol_findings,
    rank_findings,
    robustness_findings,
    settle,
    training_findings,
    unmeasured_privacy_finding,
)
from synthval.report.glossary import glossary_html
from synthval.report.html import Report, missing_html
from synthval.selection.ranking import last_epoch, with_members

SELECTION = ("protocols", "calibration", "corollary")


def _read(files: dict[str, str]) -> dict[str, pl.DataFrame]:
    """The Parquet tables of ``{training set: path}`` that exist."""
    return {t: read_frame(p) for t, p in files.items() if Path(p).is_file()}


@dataclass
class Results:
    """The tables the report reads, per training set; a table a partial run has not written is absent."""

    summaries: dict[str, dict]
    ranks: dict[str, pl.DataFrame]
    worths: dict[str, pl.DataFrame]  # what each selection set is worth in real images (synthval.selection.worth)
    errors: dict[str, pl.DataFrame]
    selection: dict[str, dict[str, pl.DataFrame]]  # protocols, calibration, corollary
    accuracies: dict[str, pl.DataFrame]  # the training study's accuracy per run and seed
    studies: dict[str, pl.DataFrame]  # ... and its summary per run (synthval.evaluation.study)
    attacks: dict[str, pl.DataFrame] = field(default_factory=dict)  # LiRA's summary per run and attack
    robustness: dict[str, pl.DataFrame] = field(default_factory=dict)  # accuracy under shift per run
    lira_planned: frozenset[str] = frozenset()  # training sets whose runs LiRA attacks (tables or not yet)

    @classmethod
    def read(cls, inputs: ReportInputs) -> Results:
        trainsets = inputs.trainsets
        accuracies = _read({t: f.training.accuracy for t, f in trainsets.items() if f.training is not None})
        return cls(
            summaries={t: read_json(f.summary) for t, f in trainsets.items() if Path(f.summary).is_file()},
            ranks=_read({t: f.rank for t, f in trainsets.items()}),
            worths=_read({t: f.worth for t, f in trainsets.items()}),
            errors=_read({t: f.errors for t, f in trainsets.items()}),
            selection={
                t: {k: read_frame(getattr(f, k)) for k in SELECTION if Path(getattr(f, k)).is_file()}
                for t, f in trainsets.items()
            },
            accuracies=accuracies,
            studies={t: method_summary(accuracy) for t, accuracy in accuracies.items()},
            attacks=_read({t: f.lira.attacks for t, f in trainsets.items() if f.lira is not None}),
            robustness=_read({t: f.robustness.accuracy for t, f in trainsets.items() if f.robustness is not None}),
            lira_planned=frozenset(t for t, f in trainsets.items() if f.lira is not None),
        )

    def findings(self) -> list[Finding]:
        """Every finding, settled as one family (:func:`synthval.report.findings.settle`): rank
        preservation first, then per training set its selection protocols, calibration and Corollary
        3.3, then the training study, robustness and privacy."""
        found = []
        for trainset, rank in self.ranks.items():
            test = None
            if trainset in self.errors:
                test = with_members(last_epoch(self.errors[trainset])).filter(
                    pl.col("eval_set") == "test", pl.col("split") == "train"
                )["error"]
            found += rank_findings(trainset, rank, test)
        for trainset, tables in self.selection.items():
            if "protocols" in tables:
                found += protocol_findings(trainset, tables["protocols"])
            if (cal := tables.get("calibration")) is not None and cal.height:
                found += calibration_findings(trainset, cal)
            if (cor := tables.get("corollary")) is not None:
                found += corollary_findings(trainset, cor)
        for trainset, summary in self.studies.items():
            found += training_findings(trainset, summary)
        for trainset, summary in self.robustness.items():
            found += robustness_findings(trainset, summary)
        for trainset, attacks in self.attacks.items():
            found += privacy_findings(trainset, attacks, self._classes(trainset))
        for trainset, accuracy in self.accuracies.items():  # a study without LiRA: say so, and if it could compare
            if trainset not in self.lira_planned and (
                f := unmeasured_privacy_finding(trainset, accuracy, self._classes(trainset))
            ):
                found.append(f)
        return settle(found)

    def _classes(self, trainset: str) -> int | None:
        return len(self.summaries.get(trainset, {}).get("class_names") or []) or None

    def answer(self, findings: list[Finding] | None = None) -> list[dict[str, str]]:
        """The answer table's rows (synthval.report.answer)."""
        return pooled_first(answer_rows(self.findings() if findings is None else findings, self.ranks, self.worths))


#: the findings' groups, in the order the report reads them: the three questions, then the rest by topic
TOPICS = {
    "protocol": "Selection protocols",
    "calibration": "Calibration",
    "corollary": "Corollary 3.3",
    "training": "Training with synthetic data",
    "robustness": "Robustness",
    "privacy": "Privacy",
}


def _group_of(f: Finding) -> str:
    if f.topic == "rank" and f.question in ASKS:
        return ASKS[f.question].capitalize()
    if f.topic == "rank":
        return "Pooled over configurations (described, not concluded)"
    return TOPICS.get(f.topic, f.topic.capitalize())


def _findings_table(findings: list[Finding]) -> str:
    """One group's findings as a table: where, about what, the verdict in a word, and the sentence."""
    trainsets = {f.trainset for f in findings}
    groups = {f.group for f in findings}
    head = (["training set"] if len(trainsets) > 1 else []) + ["about"] + (["group"] if len(groups) > 1 else [])
    head += ["verdict", "finding"]
    rows = []
    for f in findings:
        cells = [f.trainset] if len(trainsets) > 1 else []
        cells += [f.subject] + ([f.group] if len(groups) > 1 else []) + [SHORT.get(f.verdict, f.verdict)]
        rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{f.text}</td>")
    th = "".join(f"<th>{h}</th>" for h in head)
    return (
        f'<table class="findings"><thead><tr>{th}</tr></thead><tbody>'
        + "".join(f"<tr>{r}</tr>" for r in rows)
        + "</tbody></table>"
    )


def findings_html(findings: list[Finding], complete: bool) -> str:
    """The findings as tables, one per question (which architecture, which hyper-parameters, which trained
    model), then the pooled descriptions, then one per topic (protocols ... privacy)."""
    if not findings:
        return missing_html(
            "findings", [], "They follow from the rank and selection tables, which are not written yet."
        )
    caveat = "" if complete else '<p class="note">From a partial run: these findings cover only what has finished.</p>'
    text = f"<p><b>{family_line(findings)}</b></p>{caveat}"
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(_group_of(f), []).append(f)
    order = [ASKS[q].capitalize() for q in QUESTIONS] + ["Pooled over configurations (described, not concluded)"]
    for name in sorted(grouped, key=lambda g: order.index(g) if g in order else len(order)):
        text += f"<h3>{html.escape(name)}</h3>{_findings_table(grouped[name])}"
    return text


def _status(expected: list[str], absent: list[str]) -> str:
    if not absent:
        return f'<div class="status ok">Complete: all {len(expected)} result files of this configuration are in.</div>'
    return (
        f'<div class="status partial"><b>Partial report</b>: {len(expected) - len(absent)} of {len(expected)} '
        "result files exist; each section says what it is missing. Run <code>snakemake</code> (or "
        "<code>snakemake --profile slurm</code>) to finish the run; the complete report is "
        f"<code>{report_html()}</code>.</div>"
    )


def build_report(
    out: str | Path, *, title: str, config: dict, inputs: ReportInputs | None = None, partial: bool = False
) -> None:
    """Render the results of ``config`` (``inputs``: the files to read, by default where
    :func:`synthval.plan.report.report_inputs` puts them) to ``out``. ``partial``: some of the files may not
    exist yet; the report says which.
    """
    inputs = inputs or report_inputs(Study.from_config(config))
    expected = inputs.files()
    absent = sections.missing_files(*expected)
    if absent and not partial:
        raise FileNotFoundError(f"{len(absent)} report inputs are missing, e.g. {absent[:3]}")
    results = Results.read(inputs)
    trainsets = inputs.trainsets
    report = Report(title)
    report.status = _status(expected, absent)
    findings = results.findings()
    with tempfile.TemporaryDirectory() as tmp:
        figure = Figures(tmp)
        report.add("answer", "The answer", answer_html(results.answer(findings)))
        report.add("run", "Run", sections.run_section(config, inputs.benchmarks))
        report.add("data", "Data and splits", sections.data_section(results.summaries, trainsets))
        report.add("generators", "Generators", sections.generator_section(trainsets, figure))
        report.add(
            "quality",
            "Synthetic-data quality",
            sections.quality_section(trainsets, results.ranks, figure, results.studies),
        )
        report.add("copies", "Copies of training images", sections.copies_section(trainsets, figure))
        report.add("zoo", "Classifier zoo", sections.zoo_section(config, trainsets, results.errors))
        sizes = {t: s["splits"]["train"]["count"] for t, s in results.summaries.items()}
        report.add(
            "rank",
            "Rank preservation",
            sections.rank_section(trainsets, results.ranks, results.worths, figure)
            + sections.rank_by_size_section(results.ranks, sizes),
        )
        report.add("protocols", "Selection protocols", sections.protocol_section(trainsets, results.selection, figure))
        report.add("calibration", "Calibration", sections.calibration_section(trainsets, results.selection, figure))
        report.add("corollary", "Corollary 3.3", sections.corollary_section(trainsets, results.selection, figure))
        if any(f.training is not None for f in trainsets.values()):
            report.add(
                "training",
                "Training with synthetic data",
                sections.training_section(trainsets, results.accuracies, results.studies, figure),
            )
        if any(f.training is not None for f in trainsets.values()):  # says so where LiRA was not run
            report.add("privacy", "Privacy: membership inference", sections.lira_section(trainsets, figure))
        if any(f.robustness is not None for f in trainsets.values()):
            report.add("robustness", "Robustness to distribution shift", sections.robustness_section(trainsets, figure))
        report.add("findings", "Findings", findings_html(findings, complete=not absent))
        report.add("glossary", "Glossary", glossary_html())
        report.write(out)


def answer_of(config: dict) -> str:
    """The answer table of ``config``'s results as text ("" before any rank table exists): what the
    workflow prints at the end of a run."""
    return answer_text(Results.read(report_inputs(Study.from_config(config))).answer())


def leave_partial_report(config: dict) -> Path | None:
    """After a run that ends without every result the report needs (a failure, or targets short of the
    report), write the partial report from what exists, saying what is missing; once every result is in,
    remove a stale one. Returns the partial report written, if any."""
    partial = Path(partial_report_html())
    inputs = report_inputs(Study.from_config(config))
    if not sections.missing_files(*inputs.files()):
        partial.unlink(missing_ok=True)
        return None
    build_report(partial, title=config["report"]["title"] + " (partial)", config=config, inputs=inputs, partial=True)
    return partial
