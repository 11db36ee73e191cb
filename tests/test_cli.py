"""The ``synthval`` command (synthval.cli): the workflow from any directory, the quality metrics of two
image sets as the workflow computes them, the report, and one-line errors."""

import io
import json
import os
import re
import subprocess
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
import yaml
from PIL import Image
from snakemake_runs import ROOT, TINY, run_watched

from synthval.data import read_image_set
from synthval.plan import paths
from synthval.plan.paths import (
    data_manifest,
    data_summary,
    quality_table,
    reference_weights,
    report_html,
    synthetic_manifest,
)
from synthval.seeding import derive_seed


def synthval(*args, cwd=None):
    """The command as a user runs it: a fresh process."""
    return run_watched([sys.executable, "-m", "synthval.cli", *map(str, args)], cwd=cwd)


def synthval_here(*args, cwd=None):
    """The command's ``main`` in this process, as the console script calls it: its exit status, what it
    prints and an uncaught exception's traceback, without a fresh interpreter's start-up for each call
    (``run`` starts Snakemake, whose output only a fresh process captures: :func:`synthval`)."""
    from synthval.cli import main

    out, err, previous = io.StringIO(), io.StringIO(), Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else int(done.code is not None)
            except Exception:  # noqa: BLE001 - an uncaught exception, as the interpreter would print it
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(previous)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.mark.long
def test_errors_are_one_line_with_exit_status_2(tmp_path):
    proc = synthval("score", tmp_path / "nothing", tmp_path / "nothing2")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"synthval score: no image set at {tmp_path / 'nothing'}"
    (tmp_path / "a.txt").write_text("x")
    proc = synthval_here("score", tmp_path / "a.txt", tmp_path / "a.txt")
    assert proc.returncode == 2
    assert "not a folder, .parquet, .npz or manifest.json" in proc.stderr
    proc = synthval_here("report", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "synthval report: unknown arguments --bogus"
    proc = synthval_here("report", cwd=tmp_path)
    assert proc.returncode == 2
    assert "report inputs are missing" in proc.stderr
    assert "--partial" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = synthval_here("report", "--results", tmp_path)  # the same run's folder, named from elsewhere
    assert proc.returncode == 2
    assert "report inputs are missing" in proc.stderr
    proc = synthval_here("report", "--results", tmp_path / "nowhere")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("(--results: the folder that holds results/)")
    # unreadable input names the file in one line; --debug shows the traceback instead
    (tmp_path / "set" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "set" / "cat" / "0.png")
    (tmp_path / "set" / "cat" / "1.png").write_bytes(b"not a png")
    proc = synthval_here("score", tmp_path / "set", tmp_path / "set")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"synthval score: cannot identify image file '{tmp_path / 'set' / 'cat' / '1.png'}'")
    np.savez(tmp_path / "x.npz", images=np.zeros((3, 8, 8), np.uint8))
    proc = synthval_here("score", tmp_path / "x.npz", tmp_path / "x.npz")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"synthval score: {tmp_path / 'x.npz'} lacks the array(s) ['labels'] (it has ['images'])"
    )
    proc = synthval_here("score", "--debug", tmp_path / "x.npz", tmp_path / "x.npz")
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    # missing weights: the one line names the command that fetches them, and where they go
    np.savez(tmp_path / "y.npz", images=np.zeros((3, 8, 8), np.uint8), labels=np.array([0, 1, 0]))
    proc = synthval_here("score", tmp_path / "y.npz", tmp_path / "y.npz", "--extractor", "inception", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "synthval weights fetch inception --out weights/inception.safetensors" in proc.stderr


def test_weights_fetch_checks_converts_and_writes_where_the_config_looks(tmp_path):
    """Offline: the published file stands in as a file:// URL. A checksum that does not match (the
    publisher's, or one given) leaves nothing behind; a match gives safetensors the extractor loads."""
    import torch
    from torchvision.models import resnet50

    from synthval.config import FETCHABLE, default_weights
    from synthval.io import sha256_file
    from synthval.metrics.extractors import sscd_extractor
    from synthval.metrics.weights import PUBLISHED

    assert tuple(PUBLISHED) == FETCHABLE  # the command offers what has a published address

    torch.save({"state_dict": resnet50(num_classes=512).state_dict()}, tmp_path / "sscd.pt")
    url = (tmp_path / "sscd.pt").as_uri()
    digest = sha256_file(tmp_path / "sscd.pt")

    def error(proc):  # the download's progress lines, then the error in one line, no traceback
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        return proc.stderr.strip().splitlines()[-1]

    proc = synthval_here("weights", "fetch", "sscd", "--url", url, "--sha256", "0" * 64, cwd=tmp_path)
    assert error(proc).startswith("synthval weights: ")
    assert f"{url} hashes to sha256 {digest[:16]}..., not the sha256 given 0000000000000000..." in proc.stderr
    # torch-fidelity's Inception: its published checksum (the file name's 6726825d) is checked by default
    proc = synthval_here("weights", "fetch", "inception", "--url", url, cwd=tmp_path)
    assert "not its published checksum 6726825d" in error(proc)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["sscd.pt"]  # nothing written, no download left
    proc = synthval_here("weights", "fetch", "sscd", "--url", url, "--sha256", digest[:12], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"weights: {default_weights('sscd')}"
    extractor = sscd_extractor(tmp_path / default_weights("sscd"))
    assert extractor(np.zeros((2, 16, 16, 3), np.uint8)).shape == (2, 512)
    proc = synthval_here("weights", "fetch", "sscd", "--url", (tmp_path / "absent.pt").as_uri(), cwd=tmp_path)
    assert error(proc).startswith("synthval weights: ")
    assert "absent.pt" in error(proc)


def test_version_and_every_option_has_help():
    from synthval import __version__
    from synthval.cli import parser

    proc = synthval_here("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"synthval {__version__}"
    commands = next(a for a in parser()._actions if a.dest == "command").choices
    undocumented = [
        f"{name} {action.dest}"
        for name, sub in commands.items()
        for action in sub._actions
        if action.dest != "help" and not action.help
    ]
    assert undocumented == []


def test_run_plans_the_workflow_from_any_directory(tmp_path):
    proc = synthval("run", "-c", TINY, "--", "-n", "--quiet", "rules", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "train_reference" in proc.stdout
    assert "render_report" in proc.stdout
    assert (tmp_path / ".snakemake").is_dir()  # it works in the current directory, not the repository's
    proc = synthval_here("run", "-c", "4", cwd=tmp_path)  # Snakemake's -c is --cores; here it names the config
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(
        "synthval run: config file not found: 4 (-c names the config here; --cores N sets the cores); shipped "
        "configs by name: cifar10, "
    )


@pytest.mark.long
def test_run_resumes_after_a_killed_run_but_not_beside_a_live_one(tmp_path):
    # a run killed with SIGKILL leaves Snakemake's lock behind; no process holds it any more
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text(str(tmp_path / "results" / "x"))
    proc = synthval("run", TINY, "--", "-n", "--quiet", "rules", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "synthval run: an earlier run was stopped before it finished: unlocked, resuming" in proc.stderr
    assert not any(locks.iterdir())
    # a live run in the same directory keeps its lock, and a second run stops with one line
    (locks / "0.input.lock").write_text(str(tmp_path / "results" / "x"))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=tmp_path)
    try:
        proc = synthval("run", TINY, "--", "-n", cwd=tmp_path)
        assert proc.returncode == 2
        assert proc.stderr.strip() == (
            f"synthval run: another run (pid {live.pid}) is working in {tmp_path}: wait for it or stop it"
        )
    finally:
        live.kill()
        live.wait()
    assert any(locks.iterdir())


@pytest.mark.integration
def test_score_agrees_with_the_workflows_quality_table_and_report_renders(tiny_run, tmp_path):
    """The tiny run's WGAN-GP set, exported as a folder of class folders of PNGs, scored against the
    train split's manifest with the workflow's extractor, settings and seed: every metric, overall and
    per class, as the quality job wrote it."""
    fake = read_image_set(tiny_run / synthetic_manifest("train300", "wgan"))
    for i, (image, label) in enumerate(zip(fake.images, fake.labels, strict=True)):
        folder = tmp_path / "wgan" / f"{label:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0]).save(folder / f"{i:05d}.png")
    seed = derive_seed(7, "quality", "train300", "wgan")  # tiny.yaml's seed; the quality job's identity
    out = tmp_path / "score.json"
    proc = synthval_here(
        "score",
        tiny_run / data_manifest("train300", "train"),
        tmp_path / "wgan",
        "--config",
        TINY,
        "--weights",
        tiny_run / reference_weights("train300"),
        "--seed",
        seed,
        "--threads",
        1,  # as the quality job; the default, every core, would contend with the other test worker
        "--json",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reference features" in proc.stdout
    assert "FID" in proc.stdout
    assert "(lower is better)" in proc.stdout
    result = json.loads(out.read_text())
    assert result["fake_count"] == len(fake)
    assert result["extractor"] == "reference"
    table = pl.read_parquet(tiny_run / quality_table("train300", "wgan"))
    assert table.height > 20
    for row in table.iter_rows(named=True):
        assert result["metrics"][str(row["class"])][row["metric"]] == pytest.approx(row["value"], rel=1e-9, abs=1e-12)
    assert np.isfinite(result["metrics"]["all"]["fid"])
    proc = synthval_here("report", "--config", TINY, cwd=tiny_run)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"report: {report_html()}"
    assert (tiny_run / report_html()).stat().st_size > 0


def test_the_console_script_is_declared():
    assert 'synthval = "synthval.cli:main"' in (ROOT / "pyproject.toml").read_text()


def _readme_own_data_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Use your own data") : text.index("## What is computed")]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_the_readmes_own_data_example_plans_and_runs(tmp_path):
    """The README's template (config/my-data.yaml, its data section shown) and its imported set and classifier, on the
    files they name: digits as a folder of RGB PNGs, an npz of samples and a timm network's weights. The
    dry run prints the plan by stage with an estimate; a real run of the data, the imported set and the
    imported network reads them, with the classes in number order."""
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file
    from sklearn.datasets import load_digits

    from synthval.config import validate_config
    from synthval.plan.study import Study

    excerpt, extras = _readme_own_data_blocks()
    template = (ROOT / "config" / "my-data.yaml").read_text()
    assert excerpt.split("\n", 1)[1] in template  # the README shows the template's data section, verbatim
    config = _merged(yaml.safe_load(template), yaml.safe_load(extras))
    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        folder = tmp_path / config["data"]["root"] / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(image * 255 / 16).astype(np.uint8)).convert("RGB").save(folder / f"{i}.png")
    rng = np.random.default_rng(0)
    (tmp_path / "samples").mkdir()
    np.savez(
        tmp_path / "samples" / "edm.npz", images=rng.integers(0, 256, (50, 8, 8), np.uint8), labels=np.arange(50) % 10
    )
    entry = config["zoo"]["imported"]["their_resnet"]
    (tmp_path / "models").mkdir()
    net = timm.create_model(entry["timm_model"], pretrained=False, num_classes=10)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, tmp_path / entry["weights"])
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(config))
    proc = synthval("run", "-c", "my.yaml", "--", "-n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "synthval run: data: 1,797 images in 10 classes (0, 1, 2, 3, 4, ...), labelled in that order" in proc.stderr
    plan = proc.stdout.splitlines()
    assert re.fullmatch(r"synthval plan: \d+ jobs would run", plan[0]), proc.stdout
    assert any(line.split()[:2] == ["classifiers", "5"] for line in plan), proc.stdout  # 3 zoo, reference, imported
    assert "train_lira" not in proc.stdout  # the template is laptop-sized
    assert "synthesize_train_shard 1," in proc.stdout  # the study samples the ddpm only, never the imported set
    assert re.match(r"  estimate: ~\d+ min of CPU time, ~\d+ min on \d+ cores at best", plan[-1]), plan[-1]
    study = Study.from_config(validate_config(yaml.safe_load((tmp_path / "my.yaml").read_text())))
    [imported] = study.imported_models
    targets = [
        data_summary("train1000"),
        synthetic_manifest("train1000", "theirs"),
        paths.classifier_weights("train1000", imported, "001"),
    ]
    proc = synthval("run", "-c", "my.yaml", "--cores", "all", *targets, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / data_summary("train1000")).read_text())
    assert summary["class_names"] == [str(c) for c in range(10)]
    assert summary["image_shape"] == [16, 16, 3]
    assert summary["decoding"] == {"skipped_files": 0, "resized": 1797}
    splits = summary["splits"]
    train_and_test = np.add(splits["train"]["per_class"], splits["test"]["per_class"])
    assert train_and_test.tolist() == np.bincount(digits.target, minlength=10).tolist()  # labels as the folders
    assert (tmp_path / targets[1]).is_file()
    assert (tmp_path / targets[2]).is_file()


def test_score_takes_flat_folders_offline_and_the_options_of_its_peers(tmp_path):
    """Two flat folders (torch-fidelity's and clean-fid's input), no weights: the seeded random VGG-16,
    unconditional metrics only, the groups --metrics names and nothing else, progress on stderr; the same
    numbers on a second call and with another batch size. Class folders give per-class rows too."""
    rng = np.random.default_rng(0)
    for folder, shift in (("real", 0), ("fake", 40)):
        for i in range(24):
            cls = tmp_path / "classes" / folder / str(i % 2)
            cls.mkdir(parents=True, exist_ok=True)
            image = np.clip(rng.integers(0, 200, (32, 32)) + shift, 0, 255).astype(np.uint8)
            Image.fromarray(image).save(cls / f"{i}.png")
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / f"{i}.png")
    out = tmp_path / "a.json"
    proc = synthval_here("score", tmp_path / "real", tmp_path / "fake", "--metrics", "fid,prdc", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "features of REAL: 24/24" in proc.stderr
    result = json.loads(out.read_text())
    assert result["extractor"] == "random"
    assert result["per_class"] is False
    assert list(result["metrics"]) == ["all"]
    assert set(result["metrics"]["all"]) == {"fid", "precision", "recall", "density", "coverage", "n_real", "n_fake"}
    assert result["metrics"]["all"]["fid"] > 0
    again = synthval_here(
        "score", tmp_path / "real", tmp_path / "fake", "--metrics", "fid", "--batch-size", "5", "--json", "-"
    )
    assert json.loads(again.stdout)["metrics"]["all"]["fid"] == pytest.approx(result["metrics"]["all"]["fid"], rel=1e-5)
    per_class = synthval_here(
        "score", tmp_path / "classes" / "real", tmp_path / "classes" / "fake", "--metrics", "fid", "--json", "-"
    )
    assert per_class.returncode == 0, per_class.stderr
    assert json.loads(per_class.stdout)["per_class"] is True
    for args, message in [
        (
            ("--metrics", "fid,bogus"),
            "synthval score: --metrics: unknown bogus; choose from fid, kid, prdc, prd, mmd, arc",
        ),
        (
            ("--extractor", "timm"),
            "synthval score: --extractor timm needs --timm-model NAME (a timm model name, e.g. resnet50)",
        ),
        (("--extractor", "dinov2", "--weights", tmp_path / "none.safetensors"), "synthval score: DINOv2"),
    ]:
        proc = synthval_here("score", tmp_path / "real", tmp_path / "fake", *args)
        assert proc.returncode == 2
        assert proc.stderr.strip().startswith(message), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_run_stops_on_a_bad_config_or_missing_data_in_one_line_before_snakemake(tmp_path):
    """A wrong key (with the key it likely meant), a bad type, a YAML syntax error (file, line and column),
    a missing data folder, an unknown option and a config that is not there: one line each, status 2,
    before Snakemake starts. A dry run plans without the data, saying what a real run would stop on."""
    cases = {
        "key.yaml": (
            "data: {sorce: digits}\n",
            "key.yaml: config key data: unknown key(s): 'sorce' (did you mean 'source'?)",
        ),
        "type.yaml": ("zoo: {epochs: many}\n", "type.yaml: config key zoo.epochs: 'many' is not of type 'integer'"),
        "syntax.yaml": (
            "data:\n  source: digits\n   root: x\n",
            "syntax.yaml:3:8: not valid YAML: mapping values are not allowed here",
        ),
        "root.yaml": (
            "data: {source: imagefolder, root: nowhere}\n",
            "root.yaml: config key data.root: no image folder at nowhere (source imagefolder reads "
            "root/<class>/<image>)",
        ),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        proc = synthval_here("run", "-c", name, cwd=tmp_path)
        assert proc.returncode == 2, name
        assert proc.stderr.splitlines() == [f"synthval run: {message}"], proc.stderr
    proc = synthval_here("run", "-j", "4", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "synthval run: unknown option -j (cores: --cores N or --cores all): synthval run takes"
    )
    assert not (tmp_path / ".snakemake").exists()  # no Snakemake was started
    proc = synthval("run", "-c", "root.yaml", "--cores", "all", "--", "-n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stderr.splitlines()[0]
        == f"synthval run: warning: root.yaml: {cases['root.yaml'][1].split(': ', 1)[1]} (a real run stops here)"
    )
    assert proc.stdout.startswith("synthval plan: ")
