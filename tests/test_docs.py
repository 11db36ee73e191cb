"""The README and docs/: short, linked, in step with the library, and naming papers by their authors."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_the_readme_is_short_and_its_example_config_is_valid():
    from synthval.config import validate_config

    text = README.read_text()
    assert len(text.split()) <= 1650
    data, extras = (yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)[:2])
    template = yaml.safe_load((ROOT / "config" / "my-data.yaml").read_text())
    assert data["data"] == template["data"]  # the README shows the template's data section
    filled = validate_config(template)  # the "use your own data" template is a config the workflow takes
    assert filled["data"]["source"] == "imagefolder"
    generators = {**template["generators"], **extras["generators"]}  # the README adds them to the template's
    assert "theirs" in validate_config({**template, "generators": generators})["generators"]


def test_figures_quoted_from_runs_are_marked_and_rewritten_in_place():
    """The README's and docs/findings.md's figures from a run sit in blocks ``make docs`` rewrites: each
    names a run and a kind it knows, and a rewrite changes that block only."""
    from synthval.report.docs import BLOCK, QUOTING, RUNS, rewrite_blocks

    found = [m.group(2, 3) for page in QUOTING for m in BLOCK.finditer((ROOT / page).read_text())]
    assert ("default", "answer") in found
    assert {run for run, _ in found} <= set(RUNS)
    assert {kind for _, kind in found} <= {"answer", "verdict", "quality", "time"}
    text = "a\n<!-- run:default:time -->\nold\n<!-- /run -->\nb\n<!-- run:study:answer -->\nkept\n<!-- /run -->\n"
    new = rewrite_blocks(text, {"default": {"time": "55 jobs, 3 min"}})
    assert new == text.replace("old", "55 jobs, 3 min")


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_and_image_resolves(page):
    text = page.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)[^)]*\)", text) + re.findall(r'<img src="([^"]+)"', text)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    missing = [t for t in local if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to {missing}"


def test_pages_rendered_from_the_library_are_in_step():
    """docs/glossary.md (also the report's glossary) and docs/citing.md come from one home each;
    ``make docs`` rewrites them."""
    from synthval.report.docs import PAGES

    for name, render in PAGES.items():
        assert (ROOT / "docs" / name).read_text() == render(), f"docs/{name} is stale: run make docs"


def test_no_user_facing_text_names_a_paper_by_an_internal_number():
    places = [README, *DOCS, ROOT / "src" / "synthval" / "config.schema.yaml", ROOT / "CITATION.cff"]
    places += sorted((ROOT / "config").glob("*.yaml"))
    places += sorted((ROOT / "src" / "synthval" / "report" / "templates").rglob("*.*"))
    wrong = [p.name for p in places if re.search(r"\bseeds? 00[0-3]", p.read_text(), re.I)]
    assert not wrong
    from synthval.cli import parser

    assert not re.search(r"\bseeds? 00[0-3]", parser().format_help(), re.I)


def test_the_glossary_defines_the_terms_the_answer_uses_and_the_report_links_it():
    from synthval.report.answer import INTRO
    from synthval.report.glossary import TERMS, glossary_html

    terms = {t for t, _ in TERMS}
    for term in ("configuration", "group", "selection set", "Spearman's rho", "worth in real images", "to settle it"):
        assert term in terms
    assert 'href="#glossary"' in INTRO
    assert '<dt id="glossary-fit-member">fit member</dt>' in glossary_html()
