"""The answer first: one row per training set, selection set, group and question (which architecture, which
hyper-parameters, which trained model; :mod:`synthval.questions`), saying whether the set can choose, over
the unit that answers the question, whether the run's own design was simulated and the interval held
there, the real validation split's answer to the same question beside it, and what would settle a row
that is not settled. The report opens with it and the workflow prints it at the end of a run; the
sections after it are the evidence.

The verdicts are the settled rank findings (:func:`synthval.report.findings.settle`): Holm-corrected
over the report, "strong" only from the Bonferroni-adjusted interval, and only where the design holds.
"""

from __future__ import annotations

import html

import polars as pl

from synthval.questions import ASKS, QUESTIONS
from synthval.report.findings import Finding
from synthval.selection.ranking import ALL, FIT_MEMBERS, TRAIN_MEMBERS

#: the answer's verdicts in a table's few words
SHORT = {
    "strong": "yes, strongly",
    "positive": "yes",
    "reversed": "no: reversed",
    "unclear": "not shown",
    "too few": "too few",
    "undefined": "undefined",
    "design fails": "no verdict: design not shown to hold",
    "not asked": "not asked at this design",
}
COLUMNS = (
    "training set",
    "selection set",
    "group",
    "question",
    "can it choose?",
    "estimate vs test [95%]",
    "units",
    "design simulated",
    "real val split [95%]",
    "to settle it",
)


def _estimate(row: dict | None) -> str:
    if row is None or row["spearman"] != row["spearman"]:
        return "n/a"
    name = "rho" if row["question"] == "architecture" else "tau"
    if row["spearman_low"] != row["spearman_low"]:
        return f"{name} {row['spearman']:.2f}"
    return f"{name} {row['spearman']:.2f} [{row['spearman_low']:.2f}, {row['spearman_high']:.2f}]"


def _design(row: dict | None) -> str:
    if row is None:
        return "n/a"
    holds = {True: "holds", False: "does not hold", None: "no interval"}[row["design_holds"]]
    return f"{row['design']}: {holds}"


def _settle(finding: Finding, row: dict | None) -> str:
    unit = row["interval_unit"] if row else "units"
    if finding.verdict == "too few":
        return f"~{finding.needed} {unit} (have {finding.n})" if finding.needed else f"more {unit} (have {finding.n})"
    if finding.verdict == "unclear":
        if finding.needed and finding.needed > finding.n:
            return f"~{finding.needed} {unit} (80% power)"
        return "no number at this estimate"
    if finding.verdict == "design fails":
        return f"more {unit}: see bench/results/coverage.md"
    if finding.verdict == "not asked":
        return "two seeds a configuration" if finding.question == "seed" else "two variants or more an architecture"
    if finding.verdict == "undefined":
        return "models whose errors differ"
    return "settled"


def _row(rank: pl.DataFrame | None, eval_set: str, ranked: str, group: str, question: str) -> dict | None:
    if rank is None:
        return None
    hit = rank.filter(
        pl.col("eval_set") == eval_set,
        pl.col("ranked") == ranked,
        pl.col("group") == group,
        pl.col("question") == question,
    )
    return hit.row(0, named=True) if hit.height else None


def answer_rows(
    findings: list[Finding], ranks: dict[str, pl.DataFrame], worths: dict[str, pl.DataFrame] | None = None
) -> list[dict[str, str]]:
    """The answer's rows from the settled findings of the three questions and the rank tables (the real
    baseline's row), in the findings' order. (``worths`` is accepted for callers of the earlier table: what
    a set is worth in real images is a pooled description, in the rank section.)"""
    rows = []
    for f in findings:
        if f.topic != "rank" or f.question not in QUESTIONS or not f.subject.endswith(f"({TRAIN_MEMBERS})"):
            continue
        eval_set = f.subject.removesuffix(f" ({TRAIN_MEMBERS})")
        rank = ranks.get(f.trainset)
        own = _row(rank, eval_set, TRAIN_MEMBERS, f.group, f.question)
        baseline = _row(rank, "val", FIT_MEMBERS, f.group, f.question)
        rows.append(
            dict(
                zip(
                    COLUMNS,
                    (
                        f.trainset,
                        eval_set,
                        f.group,
                        ASKS[f.question],
                        SHORT.get(f.verdict, f.verdict),
                        _estimate(own),
                        f"{f.n} {own['interval_unit']}" if own else str(f.n),
                        _design(own),
                        _estimate(baseline) + (f" ({baseline['n_units']})" if baseline else ""),
                        _settle(f, own),
                    ),
                    strict=True,
                )
            )
        )
    return rows


INTRO = (
    "Can a synthetic set choose the models? Per training set, selection set and group of the zoo, three questions, "
    "each over the unit that answers it: <b>which architecture?</b> (Spearman's rho over architecture means), "
    "<b>which hyper-parameters?</b> (Kendall's tau within architectures) and <b>which trained model?</b> (Kendall's "
    "tau within configurations, over seeds). The set chooses; the test split only scores. A verdict is Holm-corrected "
    "over this report and drawn only where this run's own design (architectures x variants x seeds) was simulated with "
    "a known truth and the interval held (bench/results/coverage.md has the designs users build); the real val split's "
    "answer to the same question for the fit members is beside it. Seeds of one configuration split into two disjoint "
    "halves for the first two questions where there are two or more, so a trained model's luck is not counted as "
    "agreement. <b>group all</b> pools the groups; read it with them. Every term is defined in the "
    '<a href="#glossary">glossary</a>.'
)


def answer_html(rows: list[dict[str, str]]) -> str:
    """The answer table as HTML, with its reading above it."""
    if not rows:
        return "<p>No rank correlations yet: the answer follows from the rank tables, which are not written.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS) + "</tr>" for r in rows)
    return (
        f"<p>{INTRO}</p>"
        f'<div class="scroll"><table class="answer"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def answer_text(rows: list[dict[str, str]]) -> str:
    """The answer table as fixed-width text, for the terminal."""
    if not rows:
        return ""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = "  ".join(c.ljust(widths[c]) for c in COLUMNS)
    rule = "  ".join("-" * widths[c] for c in COLUMNS)
    body = ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(["The answer (the report opens with it):", line, rule, *body])


def pooled_first(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows with group ``all`` before the groups, keeping each set's rows together, questions in order."""
    order = {ASKS[q]: i for i, q in enumerate(QUESTIONS)}
    return sorted(
        rows,
        key=lambda r: (r["training set"], r["selection set"], r["group"] != ALL, r["group"], order[r["question"]]),
    )
