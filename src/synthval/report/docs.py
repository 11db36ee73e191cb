"""The documentation pages rendered from the library's own records, so that a term or a reference has one
home: ``docs/glossary.md`` (:data:`synthval.report.glossary.TERMS`, also the report's glossary) and
``docs/citing.md`` (:data:`synthval.papers.PAPERS`). ``make docs`` (``python -m synthval.report.docs``)
writes them; a test fails when a page is out of step.

The figures the README and ``docs/findings.md`` quote from a run are blocks between
``<!-- run:NAME:KIND -->`` and ``<!-- /run -->``, written from that run's results by ``make docs
DEFAULT=<run folder of config/config.yaml> STUDY=<run folder of config/digits-study.yaml>``
(:func:`run_blocks`): KIND ``answer`` (the pooled zoo's answer table), ``verdict`` (the answer in three
sentences), ``quality`` (each generator's FID and TV) and ``time`` (``bench/results/demo.md``'s run).
"""

from __future__ import annotations

import argparse
import os
import re
from contextlib import contextmanager
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


ROOT = Path(__file__).resolve().parents[3]
#: the runs whose figures the docs quote, by the config that made them
RUNS = {"default": "config/config.yaml", "study": "config/digits-study.yaml"}
#: the pages that quote them
QUOTING = ("README.md", "docs/findings.md")
BLOCK = re.compile(r"(<!-- run:(\w+):(\w+) -->\n)(.*?)(<!-- /run -->)", re.S)


@contextmanager
def _inside(folder: Path):
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _quality_sentence(config: dict) -> str:
    import polars as pl

    from synthval.plan.paths import quality_table

    trainset = next(iter(config["data"]["train_sizes"]))
    parts = []
    for name in config["generators"]:
        path = Path(quality_table(trainset, name))
        if not path.is_file():
            continue
        table = pl.read_parquet(path).filter(pl.col("class") == "all")
        value = dict(zip(table["metric"], table["value"], strict=True))
        parts.append(f"{name} FID {value['fid']:.1f}, TV {value['tv']:.2f} (floor {value['tv_floor']:.2f})")
    extractor = config["quality"]["extractor"]
    return f"Quality on {trainset}, in the {extractor} extractor's features: " + "; ".join(parts) + "."


def _time_sentence(bench: Path) -> str:
    """bench/results/demo.md's run in one sentence: jobs, wall time, machine and the day's bare loop."""
    text = bench.read_text()
    setting = text.splitlines()[0].removeprefix("Machine: ")
    wall = re.search(r"\*\*Wall time of the run: (\d+) s", text)
    jobs = re.search(r"\| \*\*all benchmarked jobs\*\* \| (\d+) \|", text)
    loop = re.search(r"bare cnn loop ([\d,]+) img/s before the run and ([\d,]+) after", setting)
    commit = re.search(r"fresh clone of (\w+)", setting)
    seconds = int(wall.group(1)) if wall else 0
    return (
        f"{jobs.group(1) if jobs else '?'} timed jobs, **{seconds // 60} min {seconds % 60} s** on "
        f"{setting.split(';')[0]} from a fresh clone{' of ' + commit.group(1) if commit else ''}"
        + (
            f", the day's bare cnn loop at {loop.group(1)}-{loop.group(2)} img/s (bench/'s quiet 2,259)."
            if loop
            else "."
        )
    )


#: the figure the README shows from the default run: the rank scatter of its first training set
FIGURES = {"default": ("rank-scatter.svg", "scatter_plot")}


def copy_figures(name: str, folder: Path, config: dict, figures: Path = ROOT / "docs" / "figures") -> list[Path]:
    """The run's figures the docs show, copied from its results (``docs/figures``)."""
    import shutil

    from synthval.plan import paths

    if name not in FIGURES:
        return []
    target, maker = FIGURES[name]
    source = folder / getattr(paths, maker)(next(iter(config["data"]["train_sizes"])))
    shutil.copyfile(source, figures / target)
    return [figures / target]


def _pooled_asked(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The pooled zoo's rows of the questions the design asks (the docs say which it cannot)."""
    from synthval.report.answer import SHORT
    from synthval.selection.ranking import ALL

    return [r for r in rows if r["group"] == ALL and r["can it choose?"] != SHORT["not asked"]]


def run_blocks(folder: str | Path, config_path: str | Path, bench: Path | None = None) -> dict[str, str]:
    """The blocks of one run (its results folder, made with ``config_path``): the answer table of the
    pooled zoo, the verdict sentences, the quality sentence and (with ``bench``) the time."""
    from synthval.config import load_config
    from synthval.plan.report import report_inputs
    from synthval.plan.study import Study
    from synthval.report.answer import answer_text, verdict_sentences
    from synthval.report.build import Results

    config = load_config(config_path)
    with _inside(Path(folder)):
        rows = Results.read(report_inputs(Study.from_config(config))).answer()
        blocks = {
            "answer": "```\n" + answer_text(_pooled_asked(rows)).split("\n", 1)[1] + "\n```",
            "verdict": verdict_sentences(rows),
            "quality": _quality_sentence(config),
        }
    if bench is not None and bench.is_file():
        blocks["time"] = _time_sentence(bench)
    return blocks


def rewrite_blocks(text: str, blocks: dict[str, dict[str, str]]) -> str:
    """``text`` with every block of a run in ``blocks`` replaced by its new content (others untouched)."""

    def fill(match: re.Match) -> str:
        opening, name, kind, old, closing = match.groups()
        new = blocks.get(name, {}).get(kind)
        return opening + (new.rstrip("\n") + "\n" if new is not None else old) + closing

    return BLOCK.sub(fill, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default="docs", help="where the rendered pages go (default docs)")
    for name, config in RUNS.items():
        parser.add_argument(f"--{name}", type=Path, help=f"the folder of a run of {config}: its figures in the docs")
    args = parser.parse_args()
    for path in write_pages(args.folder):
        print(path)
    runs = {name: getattr(args, name) for name in RUNS if getattr(args, name)}
    blocks = {
        name: run_blocks(
            folder, ROOT / RUNS[name], ROOT / "bench" / "results" / "demo.md" if name == "default" else None
        )
        for name, folder in runs.items()
    }
    for page in QUOTING if blocks else ():
        path = ROOT / page
        path.write_text(rewrite_blocks(path.read_text(), blocks))
        print(path)
    from synthval.config import load_config

    for name, folder in runs.items():
        for path in copy_figures(name, folder, load_config(ROOT / RUNS[name])):
            print(path)


if __name__ == "__main__":
    main()
