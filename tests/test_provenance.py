"""Code provenance: which library modules a workflow script runs, and a digest that ignores docs."""

from pathlib import Path

from synthval.provenance import code_digest, library_modules

ROOT = Path(__file__).resolve().parents[1]


def _library(tmp_path):
    """A small package tree: a script imports synthval.a (lazily, inside a function) and synthval.b.c."""
    pkg = tmp_path / "src" / "synthval"
    (pkg / "b").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""root"""\n')
    (pkg / "a.py").write_text(
        '"""module a"""\nfrom synthval.b import c\n\n\ndef f():\n    """doc"""\n    return c.g() + 1\n'
    )
    (pkg / "b" / "__init__.py").write_text("")
    (pkg / "b" / "c.py").write_text("from . import d\n\n\ndef g():\n    return 1\n")
    (pkg / "b" / "d.py").write_text("X = 1\n")
    (pkg / "unused.py").write_text("Y = 2\n")
    script = tmp_path / "script.py"
    script.write_text("import numpy\n\n\ndef main():\n    from synthval import a\n    return a.f()\n")
    return tmp_path / "src", script


def test_imports_are_followed_through_packages_functions_and_relative_imports(tmp_path):
    root, script = _library(tmp_path)
    assert list(library_modules(script, root)) == [
        "synthval",
        "synthval.a",
        "synthval.b",
        "synthval.b.c",
        "synthval.b.d",
    ]


def test_digest_ignores_docstrings_comments_and_formatting_but_not_code(tmp_path):
    root, script = _library(tmp_path)
    before = code_digest(script, root)
    code_digest.cache_clear()
    a = root / "synthval" / "a.py"
    a.write_text(a.read_text().replace('"""doc"""', '"""another doc"""').replace("c.g() + 1", "c.g()  +  1  # same"))
    (root / "synthval" / "unused.py").write_text("Y = 3\n")  # not imported by the script
    assert code_digest(script, root) == before
    code_digest.cache_clear()
    (root / "synthval" / "b" / "d.py").write_text("X = 2\n")
    assert code_digest(script, root) != before


def test_what_a_module_digest_takes_is_kept_beside_it_and_used_only_for_the_same_source(tmp_path):
    """The kept facts (``__pycache__/<module>.facts.json``) give the digest a fresh parse gives; a kept
    record of other source bytes (an edit, even one that keeps the size and modification time) is not used;
    an unreadable one is replaced; where none can be written the digest is the same."""
    import json
    import os
    import shutil

    from synthval import provenance

    root, script = _library(tmp_path)
    before = code_digest(script, root)
    kept = root / "synthval" / "b" / "__pycache__" / "d.facts.json"
    record = json.loads(kept.read_text())
    assert record["text"] == "X = 1"
    assert record["imports"] == []
    provenance._facts_of.cache_clear()
    code_digest.cache_clear()
    assert code_digest(script, root) == before  # from the kept records
    d = root / "synthval" / "b" / "d.py"
    stat = d.stat()
    d.write_text("X = 2\n")  # same size, and the old modification time put back
    os.utime(d, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    provenance._facts_of.cache_clear()
    code_digest.cache_clear()
    edited = code_digest(script, root)
    assert edited != before
    assert json.loads(kept.read_text())["text"] == "X = 2"
    kept.write_text("{not json")
    provenance._facts_of.cache_clear()
    code_digest.cache_clear()
    assert code_digest(script, root) == edited
    assert json.loads(kept.read_text())["text"] == "X = 2"
    for folder in list((root / "synthval").rglob("__pycache__")):  # nowhere to write (root ignores modes)
        shutil.rmtree(folder)
        folder.write_text("")
    provenance._facts_of.cache_clear()
    code_digest.cache_clear()
    assert code_digest(script, root) == edited


def test_every_workflow_script_reaches_the_modules_it_uses():
    scripts = ROOT / "workflow" / "scripts"
    report = library_modules(scripts / "render_report.py")
    assert "synthval.report.build" in report
    assert "synthval.selection.ranking" in report
    assert "synthval.report.build" not in library_modules(scripts / "select_models.py")
    assert "synthval.generators.ddpm" in library_modules(scripts / "train_generator.py")
    assert "synthval.data.augment" in library_modules(scripts / "augment_split.py")
    for script in scripts.glob("*.py"):
        assert "synthval.io" in library_modules(script) or "synthval.runtime" in library_modules(script), script.name


def test_a_report_template_or_caption_edit_reruns_the_report_and_nothing_else(tmp_path):
    # the report's prose lives in templates the report module reads: a change to one is a change to the
    # report's code
    import shutil

    root = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "synthval", root / "synthval")
    scripts = ROOT / "workflow" / "scripts"
    before = {s: code_digest(scripts / s, root) for s in ("render_report.py", "select_models.py")}
    caption = root / "synthval" / "report" / "templates" / "captions" / "scatter.rst"
    caption.write_text(caption.read_text() + "\nOne more sentence.\n")
    code_digest.cache_clear()
    after = {s: code_digest(scripts / s, root) for s in before}
    assert after["render_report.py"] != before["render_report.py"]
    assert after["select_models.py"] == before["select_models.py"]
