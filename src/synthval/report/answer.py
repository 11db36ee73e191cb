"""The answer first: one row per training set, selection set and group, saying whether the set can choose
the models, with the real validation split's ranking beside it, what the set is worth in labelled real
images, and what would settle a row that is not settled. The report opens with it and the workflow
prints it at the end of a run; the sections after it are the evidence.

The verdicts are the settled rank findings (:func:`synthval.report.findings.settle`): Holm-corrected
over the report, and only from :data:`synthval.inference.MIN_CONFIGURATIONS` configurations.
"""

from __future__ import annotations

import html

import polars as pl

from synthval.inference import MIN_CONFIGURATIONS, configurations_for_half_width
from synthval.report.findings import Finding
from synthval.selection.ranking import ALL, FIT_MEMBERS, TRAIN_MEMBERS
from synthval.selection.worth import worth_cell

#: the answer's verdicts in a table's few words
SHORT = {
    "strong": "yes, strongly",
    "positive": "yes",
    "reversed": "no: reversed",
    "unclear": "not shown",
    "too few": "too few configurations",
    "undefined": "undefined",
}
COLUMNS = (
    "training set",
    "selection set",
    "group",
    "can it choose?",
    "rho vs test [95%]",
    "configurations",
    "real val split: rho [95%]",
    "worth in real images [95%]",
    "to settle it",
)


def _rho(row: dict | None) -> str:
    if row is None or row["spearman"] != row["spearman"]:
        return "n/a"
    if row["spearman_low"] != row["spearman_low"]:
        return f"{row['spearman']:.2f}"
    return f"{row['spearman']:.2f} [{row['spearman_low']:.2f}, {row['spearman_high']:.2f}]"


def _settle(finding: Finding) -> str:
    n = finding.n
    if finding.verdict == "too few":
        return (
            f"{max(finding.needed or 0, MIN_CONFIGURATIONS)} configurations (have {n}); e.g. config/digits-study.yaml"
        )
    if finding.verdict == "unclear":
        half = configurations_for_half_width(n)
        if finding.needed and finding.needed > n:
            return f"~{finding.needed} configurations at this rho; {half} halve the interval"
        return f"{half} configurations halve the interval"
    if finding.verdict == "undefined":
        return "models whose errors differ"
    return "settled"


def answer_rows(
    findings: list[Finding], ranks: dict[str, pl.DataFrame], worths: dict[str, pl.DataFrame]
) -> list[dict[str, str]]:
    """The answer's rows from the settled findings, the rank tables (the real baseline's row) and the
    worth tables, in the findings' order."""
    rows = []
    for f in findings:
        if f.topic != "rank" or not f.subject.endswith(f"({TRAIN_MEMBERS})"):
            continue
        eval_set = f.subject.removesuffix(f" ({TRAIN_MEMBERS})")
        rank = ranks.get(f.trainset)
        own = baseline = None
        if rank is not None:
            hit = rank.filter(
                pl.col("eval_set") == eval_set, pl.col("ranked") == TRAIN_MEMBERS, pl.col("group") == f.group
            )
            own = hit.row(0, named=True) if hit.height else None
            base = rank.filter(pl.col("eval_set") == "val", pl.col("ranked") == FIT_MEMBERS, pl.col("group") == f.group)
            baseline = base.row(0, named=True) if base.height else None
        worth = "n/a"
        table = worths.get(f.trainset)
        if table is not None:
            hit = table.filter(pl.col("eval_set") == eval_set, pl.col("group") == f.group)
            if hit.height:
                w = hit.row(0, named=True)
                worth = worth_cell(w["real_images"], w["real_images_low"], w["real_images_high"])
        rows.append(
            dict(
                zip(
                    COLUMNS,
                    (
                        f.trainset,
                        eval_set,
                        f.group,
                        SHORT.get(f.verdict, f.verdict),
                        _rho(own),
                        str(f.n),
                        _rho(baseline) + (f" ({baseline['n_configs']})" if baseline else ""),
                        worth,
                        _settle(f),
                    ),
                    strict=True,
                )
            )
        )
    return rows


INTRO = (
    "Can a synthetic set choose the models? Per training set, selection set and group of the zoo: the verdict on "
    "Spearman's rho over configurations between errors on the set (which chooses) and on the test split (which only "
    "scores), Holm-corrected over this report and drawn only from {minimum} configurations, where the coverage "
    "benchmark (bench/results/coverage.md) shows the interval holds; the real val split's ranking of the fit "
    "members beside it (configurations in brackets); and how many labelled real images rank the models as well "
    "(one half of the test split draws them, the other scores; nothing is chosen there). <b>group all</b> pools the "
    'groups; read it with them. Every term is defined in the <a href="#glossary">glossary</a>.'
)


def answer_html(rows: list[dict[str, str]]) -> str:
    """The answer table as HTML, with its reading above it."""
    if not rows:
        return "<p>No rank correlations yet: the answer follows from the rank tables, which are not written.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS) + "</tr>" for r in rows)
    return (
        f"<p>{INTRO.format(minimum=MIN_CONFIGURATIONS)}</p>"
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
    """Rows with group ``all`` before the groups, keeping each set's rows together."""
    return sorted(rows, key=lambda r: (r["training set"], r["selection set"], r["group"] != ALL, r["group"]))
