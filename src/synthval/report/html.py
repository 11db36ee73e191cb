"""The self-contained HTML report: every figure inline as base64, styles and the table-sorting script
inline, and a Content-Security-Policy that forbids the page any network request."""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import platform
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from synthval.io import write_bytes
from synthval.metrics import METRICS

# data: images, inline styles and script only: a report opened offline or from an archive can neither
# leak that it was opened nor break because a host is gone
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;margin:1em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;margin:.2em 0 .3em}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0;position:sticky;top:0;white-space:nowrap}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer}table.sortable th:after{content:" \\2195";color:#aaa;font-size:.8em}
table.sortable th.asc:after{content:" \\2191";color:#333}table.sortable th.desc:after{content:" \\2193";color:#333}
.wide{overflow-x:auto;max-width:100%}.scroll{max-height:34em;overflow:auto;display:inline-block;max-width:100%;border:1px solid #ddd}.scroll table{margin:0}
img,svg.figure{max-width:100%;height:auto;border:1px solid #ddd;margin:.3em 0}.note{color:#555;font-size:.9em}
.missing{background:#fff4e5;border-left:4px solid #f0a030;padding:.4em .8em;margin:.6em 0}.missing code{font-size:.85em}
.status{padding:.2em .9em;margin:.3em 0}.status.ok{background:#eaf6ea;border-left:4px solid #3a3}.status.partial{background:#fff4e5;border-left:4px solid #f0a030}
nav li{margin:.1em 0}nav ol{columns:3;margin:.4em 0}.verdict{font-size:1.05em;margin:.3em 0 .3em}#answer>.note{margin:.3em 0}
table.answer{font-size:.8em;margin:.4em 0}table.answer td{padding:.12em .4em;white-space:nowrap}table.answer th{padding:.2em .4em;white-space:normal;vertical-align:bottom}#answer>h2{margin:.4em 0 .2em}figure{display:inline-block;margin:.4em 1em .4em 0;vertical-align:top}figcaption{font-size:.85em;color:#555}
"""

# click a header to sort by that column (numbers as numbers, NaN last), again to reverse
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = !th.classList.contains("asc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(asc ? "asc" : "desc");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) { var t = row.cells[col].textContent, n = parseFloat(t); return isNaN(n) ? t : n; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), c;
        if (typeof x === "number" && typeof y === "number") c = x - y;
        else if (typeof x === "number") c = -1; else if (typeof y === "number") c = 1;
        else c = x.localeCompare(y, undefined, {numeric: true});
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

SCROLL_ROWS = 25  # longer tables scroll under a sticky header


def image_tag(path: str | Path, alt: str) -> str:
    """A PNG as an inline ``<img>``; an SVG inline in the page (vector, and its points' ``<title>`` labels
    show on hover), its ids prefixed so that figures sharing one page cannot collide."""
    data = Path(path).read_bytes()
    if Path(path).suffix != ".svg":
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    svg = data.decode()
    svg = svg[svg.index("<svg") :]  # no XML declaration or doctype inside HTML
    # nor namespace declarations or RDF metadata (the HTML parser knows SVG's namespaces): the page names
    # no address at all
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    prefix = "f" + hashlib.sha1(str(path).encode() + data).hexdigest()[:10]
    svg = re.sub(r'(\bid="|url\(#|href="#)', rf"\g<1>{prefix}-", svg)
    return svg.replace("<svg", f'<svg class="figure" role="img" aria-label="{html.escape(alt)}"', 1)


# raw column names as a reader would name them (with units); other names show with spaces for underscores
HEADERS = {
    **{m.name: m.display for m in METRICS},
    "eval_set": "evaluation set",
    "n_models": "models",
    "n_configs": "configurations",
    "spearman": "Spearman ρ",
    "spearman_low": "ρ 95% low",
    "spearman_high": "ρ 95% high",
    "spearman_p": "Spearman p",
    "kendall": "Kendall τ",
    "kendall_p": "Kendall p",
    "seconds": "time (s)",
    "s": "time (s)",
    "max_rss": "peak memory (MB)",
}
P_VALUE = re.compile(r"(^|[ _])p(_value)?$|^p-value")  # p, kendall_p, Spearman p, p_value


def header(name: str, percent: bool = False) -> str:
    """The report's header of a raw column name; ``percent``: the column is shown in %."""
    text = HEADERS.get(name, name.replace("_", " "))
    return f"{text} (%)" if percent and "%" not in text else text


def column_format(name: str, values: pl.Series, floats: str | None = None) -> Callable[[float], str]:
    """How a float column's numbers are written: p-values in scientific notation; with ``floats``, that
    format; otherwise three significant digits of the column's largest magnitude, the same decimals for
    every row so the column lines up."""
    if P_VALUE.search(name):
        return lambda v: f"{v:.1e}"
    if floats is not None:
        return floats.format
    finite = values.drop_nulls().drop_nans().abs() if values.dtype.is_float() else values.drop_nulls().abs()
    largest = float(finite.to_numpy().max()) if finite.len() else 0.0
    decimals = 3 if not largest else min(max(2 - math.floor(math.log10(largest)), 0), 6)
    return lambda v: f"{v:.{decimals}f}"


#: what a table shows where it has no number (undefined, or not computed at the run's design)
NO_VALUE = "\u2013"


def _cell(value: object, fmt: Callable[[float], str]) -> str:
    if isinstance(value, float):
        return NO_VALUE if value != value else fmt(value)
    return NO_VALUE if value is None else str(value)


def table_html(df: pl.DataFrame, floats: str | None = None, percent: Iterable[str] = ()) -> str:
    """A sortable table; one of more than SCROLL_ROWS rows scrolls inside its own box.

    Columns named in ``percent`` (fractions, e.g. errors) are shown x100 with "(%)" in their header;
    headers are :data:`HEADERS`' names; numbers are written by :func:`column_format`.
    """
    percent = set(percent) & set(df.columns)
    df = df.with_columns(pl.col(c) * 100 for c in percent)
    head = "".join(f"<th>{html.escape(header(c, c in percent))}</th>" for c in df.columns)
    opens = ['<td class="n">' if dtype.is_numeric() else "<td>" for dtype in df.dtypes]  # numbers right-aligned
    formats = [column_format(header(c), df[c], floats) if df[c].dtype.is_float() else str for c in df.columns]
    rows = "".join(
        "<tr>"
        + "".join(f"{o}{html.escape(_cell(v, f))}</td>" for o, f, v in zip(opens, formats, row, strict=True))
        + "</tr>"
        for row in df.iter_rows()
    )
    table = f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    return f'<div class="{"scroll" if df.height > SCROLL_ROWS else "wide"}">{table}</div>'


@dataclass(frozen=True)
class Shown:
    """A figure as a section shows it: the image (``drawn``), or the box that says what it is missing.
    Templates insert it as it is (``__html__``) and put a caption under a drawn one."""

    html: str
    drawn: bool

    def __html__(self) -> str:
        return self.html


def picture(path: str | Path, alt: str, what: str = "", hint: str = "") -> Shown:
    """An image the workflow made, or (``what``: the box's subject) what is missing; nothing at all when
    there is no image and no ``what``."""
    if Path(path).is_file():
        return Shown(image_tag(path, alt), True)
    return Shown(missing_html(what, [path], hint) if what else "", False)


def missing_html(what: str, files: Iterable[str | Path], hint: str = "") -> str:
    """The box a section shows in place of what the run has not made yet."""
    files = sorted(map(str, files))
    shown = "".join(f"<li><code>{html.escape(str(f))}</code></li>" for f in files[:8])
    more = f"<li>... and {len(files) - 8} more</li>" if len(files) > 8 else ""
    return (
        f'<div class="missing"><b>Not available yet: {html.escape(what)}.</b> {hint} Missing '
        f"{len(files)} file{'s' if len(files) != 1 else ''}:<ul>{shown}{more}</ul></div>"
    )


@dataclass
class Report:
    title: str
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (anchor, heading, body html)
    status: str = ""

    def add(self, anchor: str, heading: str, body: str) -> None:
        self.sections.append((anchor, heading, body))

    def render(self) -> str:
        """The page: the title and status, the first section (the answer), then the contents and the rest,
        so that the answer is the first screen."""
        toc = "".join(f'<li><a href="#{a}">{html.escape(h)}</a></li>' for a, h, _ in self.sections)
        legend = (
            f'<p class="note">In every table, {NO_VALUE} marks a value that is undefined or not computed at this '
            "run's design; the section says which.</p>"
        )
        parts = [f'<section id="{a}"><h2>{html.escape(h)}</h2>{b}</section>' for a, h, b in self.sections]
        nav = f"<nav><h2>Contents</h2><ol>{toc}</ol>{legend}</nav>"
        body = "".join(parts[:1]) + nav + "".join(parts[1:])
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f'content="{CSP}">'
            '<meta name="viewport" content="width=device-width, '
            f'initial-scale=1"><title>{html.escape(self.title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>{self.status}{body}"
            f"<script>{SCRIPT}</script></body></html>\n"
        )

    def write(self, path: str | Path) -> None:
        write_bytes(path, self.render().encode())


def _git(*args: str) -> str:
    """The output of one git command in the checkout this module runs from."""
    proc = subprocess.run(
        ["git", *args], capture_output=True, text=True, check=True, timeout=10, cwd=Path(__file__).parent
    )
    return proc.stdout.strip()


def run_metadata() -> dict[str, str]:
    """Versions, machine and git commit (when run from a checkout) for the report header."""
    import torch

    from synthval import __version__

    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "unknown (not run from a git checkout)"
    import matplotlib
    import snakemake

    return {
        "synthval": __version__,
        "git commit": commit,
        "snakemake": snakemake.__version__,
        "torch": torch.__version__,
        "polars": pl.__version__,
        "matplotlib": matplotlib.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}) (the machine that "
        "rendered the report)",
        "rendered": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
