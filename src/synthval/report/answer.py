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
import re

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
    "estimate vs test [95%, unadjusted]",
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
    "How to read it: each question is asked over the unit that answers it: <b>which architecture?</b> (Spearman's "
    "rho over architecture means), <b>which hyper-parameters?</b> (Kendall's tau within architectures) and <b>which "
    "trained model?</b> (Kendall's tau within configurations, over seeds). The selection set chooses; the test split "
    "only scores. A verdict is Holm-adjusted over this report's tests and drawn only where this run's own design "
    "(architectures x variants x seeds) was simulated with a known truth and the interval held "
    "(bench/results/coverage.md); the interval beside it is the unadjusted 95% one, so an interval that excludes 0 "
    "can stand beside <i>not shown</i>. The real val split answers the same question for the fit members. Seeds of "
    "one configuration split into two disjoint halves for the first two questions, so a trained model's luck is not "
    "counted as agreement. <b>group all</b> pools the groups; read it with them. Every term is in the "
    '<a href="#glossary">glossary</a>.'
)

#: the answer's words for the verdicts that claim, by question
_CHOOSES = {"yes, strongly", "yes"}


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict_sentences(rows: list[dict[str, str]]) -> str:
    """The answer in three plain sentences, from the pooled zoo's rows of the first training set: which
    sets were shown to choose (and for which question), what would settle the rest, and what the real
    val split says to the same question."""
    if not rows:
        return ""
    trainset = rows[0]["training set"]
    pooled = [r for r in rows if r["training set"] == trainset and r["group"] == ALL]
    asked = [r for r in pooled if r["can it choose?"] != SHORT["not asked"]]
    sets = list(dict.fromkeys(r["selection set"] for r in pooled))
    chooses = [r for r in asked if r["can it choose?"] in _CHOOSES]
    reversed_ = [r for r in asked if r["can it choose?"] == SHORT["reversed"]]
    if chooses:
        first = "Shown to choose as the test split does: " + "; ".join(
            f"{r['selection set']} for {r['question']} ({r['estimate vs test [95%, unadjusted]']})" for r in chooses
        )
        first += f", on {trainset} over the whole zoo."
    else:
        first = (
            f"No selection set ({_listing(sets)}) was shown to choose among these classifiers as the test split does, "
            f"on {trainset} over the whole zoo."
        )
    if reversed_:
        first += " Reversed: " + _listing([f"{r['selection set']} ({r['question']})" for r in reversed_]) + "."
    open_rows = [r for r in asked if r["to settle it"] not in ("settled", "")]
    if open_rows:
        needs = sorted({r["to settle it"] for r in open_rows if r["to settle it"].startswith("~")}, key=_leading)
        second = (
            f"{len(open_rows)} of {len(asked)} questions asked here are open"
            + (f": the nearest would be settled by {needs[0].split(' (')[0]}" if needs else "")
            + (f" ({_listing(_units(open_rows))} now)." if _units(open_rows) else ".")
        )
    else:
        second = "Every question asked here is settled."
    val = [r for r in asked if not r["real val split [95%]"].startswith("n/a")]
    if val:
        r = val[0]
        third = (
            f"To the same question ({r['question']}) the real val split gives "
            f"{r['real val split [95%]'].rsplit(' (', 1)[0]} against the test split: what a held-out real set "
            "would tell you at this size."
        )
    else:
        third = "The real val split cannot answer these questions at this design."
    return f"{first} {second} {third}"


def _leading(text: str) -> int:
    """The number a "to settle it" cell starts with (~1,200 architectures: 1200)."""
    found = re.match(r"~?([\d,]+)", text)
    return int(found.group(1).replace(",", "")) if found else 0


def _units(rows: list[dict[str, str]]) -> list[str]:
    return list(dict.fromkeys(r["units"] for r in rows if r["units"][:1].isdigit()))


#: the on-screen table's shorter headers, where its cells are shortened (:func:`_screen_cell`)
_SCREEN = {
    "design simulated": "design: interval",
    "estimate vs test [95%, unadjusted]": "estimate vs test [95%, unadj.]",
    "real val split [95%]": "real val split [95%]",
    "to settle it": "to settle it (80% power)",
}


def _screen_cell(column: str, value: str) -> str:
    """A cell of the on-screen table: the design's outcome with the design on hover, the units to settle
    without the power the header states; other cells as they are."""
    if column == "design simulated" and ": " in value:
        design, outcome = value.rsplit(": ", 1)
        return f'<td title="{html.escape(design)}">{html.escape(outcome)}</td>'
    if column == "to settle it":
        value = value.replace(" (80% power)", "")
    return f"<td>{html.escape(value)}</td>"


#: the on-screen table leaves out columns whose value every row shares (said above the table instead)
_DROPPABLE = ("training set", "design simulated")


def answer_html(rows: list[dict[str, str]]) -> str:
    """The answer: the verdict in plain sentences, then the whole table (rows of questions the design
    cannot ask, and columns every row shares, said in a line instead), then how to read it."""
    if not rows:
        return "<p>No rank correlations yet: the answer follows from the rank tables, which are not written.</p>"
    shown = [r for r in rows if r["can it choose?"] != SHORT["not asked"]]
    skipped = sorted({r["question"] for r in rows} - {r["question"] for r in shown})
    shared = {c: rows[0][c] for c in _DROPPABLE if len({r[c] for r in rows}) == 1}
    columns = [c for c in COLUMNS if c not in shared]
    head = "".join(f"<th>{html.escape(_SCREEN.get(c, c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_screen_cell(c, r[c]) for c in columns) + "</tr>" for r in shown or rows)
    notes = [f"{c}: <b>{html.escape(v)}</b>" for c, v in shared.items()]
    if skipped and shown:
        notes.append(
            f"not asked at this design: {html.escape(_listing(skipped))} (the design has one variant an "
            "architecture, or one seed a configuration)"
        )
    return (
        f'<p class="verdict">{html.escape(verdict_sentences(rows))}</p>'
        + (f'<p class="note">{"; ".join(notes)}.</p>' if notes else "")
        + f'<table class="answer"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        + f'<p class="note">{INTRO}</p>'
    )


def answer_text(rows: list[dict[str, str]]) -> str:
    """The answer table as fixed-width text, for the terminal."""
    if not rows:
        return ""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    line = "  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()
    rule = "  ".join("-" * widths[c] for c in COLUMNS)
    body = ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in rows]
    return "\n".join(["The answer (the report opens with it):", line, rule, *body])


def pooled_first(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows with group ``all`` before the groups, keeping each set's rows together, questions in order."""
    order = {ASKS[q]: i for i, q in enumerate(QUESTIONS)}
    return sorted(
        rows,
        key=lambda r: (r["training set"], r["selection set"], r["group"] != ALL, r["group"], order[r["question"]]),
    )
