"""The documentation pages rendered from the library's own records, so that a term or a reference has one
home: ``docs/glossary.md`` (:data:`synthval.report.glossary.TERMS`, also the report's glossary) and
``docs/citing.md`` (:data:`synthval.papers.PAPERS`). ``make docs`` (``python -m synthval.report.docs``)
writes them; a test fails when a page is out of step."""

from __future__ import annotations

import sys
from pathlib import Path

from synthval.papers import PAPERS, bibtex
from synthval.report.glossary import glossary_markdown


def citing_markdown() -> str:
    rows = [f"| [{p.cite}]({p.url}) | *{p.title}*, {p.venue} | {p.implements} |" for p in PAPERS.values()]
    return "\n".join(
        [
            "# Citing synthval and the papers it implements",
            "",
            'Cite synthval itself from `CITATION.cff` (GitHub\'s "Cite this repository" reads it), and the papers',
            "whose methods you report:",
            "",
            "| paper | title and venue | what synthval takes from it |",
            "|---|---|---|",
            *rows,
            "",
            "```bibtex",
            bibtex(),
            "```",
            "",
        ]
    )


PAGES = {"glossary.md": glossary_markdown, "citing.md": citing_markdown}


def write_pages(folder: str | Path) -> list[Path]:
    written = []
    for name, render in PAGES.items():
        path = Path(folder) / name
        path.write_text(render())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_pages(sys.argv[1] if len(sys.argv) > 1 else "docs"):
        print(path)
