"""The HTML report: rendered in headless Chromium, checked against the tables it summarises, and
rendered from a partial run. Unit tests of its building blocks come first."""

import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats
from snakemake_runs import GENERATORS, ROOT, TINY, snakemake

from synthval.data.images import encode_png, tile_images
from synthval.live import LiveLog
from synthval.plan.paths import (
    RESULTS,
    augmented_manifest,
    errors_table,
    generator_live_grids,
    generator_live_log,
    generator_weights,
    partial_report_html,
    quality_table,
    report_html,
    selection_table,
    training_table,
)
from synthval.report.figures import calibration_sweep, class_error_heatmap, error_scatter, protocol_bars
from synthval.report.html import CSP, SCROLL_ROWS, Report, column_format, image_tag, missing_html, table_html
from synthval.runtime import stage_times
from synthval.selection import rank_correlation
from synthval.selection.ranking import class_errors

SECTIONS = {
    "answer": "The answer",
    "run": "Run",
    "data": "Data and splits",
    "generators": "Generators",
    "quality": "Synthetic-data quality",
    "copies": "Copies of training images",
    "zoo": "Classifier zoo",
    "rank": "Rank preservation",
    "protocols": "Selection protocols",
    "calibration": "Calibration",
    "corollary": "Corollary 3.3",
    "training": "Training with synthetic data",
    "privacy": "Privacy: membership inference",
    "robustness": "Robustness to distribution shift",
    "findings": "Findings",
    "glossary": "Glossary",
}
SCREENSHOTS = ROOT / RESULTS / "ci"  # kept as CI artifacts


def test_table_html_marks_numbers_escapes_text_and_scrolls_long_tables():
    df = pl.DataFrame({"model": ["<b>", "a"], "error": [0.5, float("nan")], "n": [3, 4]})
    out = table_html(df)
    assert '<table class="sortable">' in out
    assert "<td>&lt;b&gt;</td>" in out
    assert '<td class="n">0.500</td>' in out
    assert '<td class="n">\u2013</td>' in out  # no number: a dash, which the report's legend explains
    assert '<td class="n">3</td>' in out
    assert "<td>a</td>" in out
    assert 'class="wide"' in out
    assert 'class="scroll"' in table_html(pl.DataFrame({"x": list(range(SCROLL_ROWS + 1))}))


def test_table_html_writes_numbers_in_their_units_and_headers_for_readers():
    df = pl.DataFrame(
        {
            "eval_set": ["test", "wgan"],
            "test_error": [0.1234, 0.05],
            "fid": [1234.5, 12.0],
            "kid": [0.0123, 0.0004],
            "kendall_p": [0.00003, 0.42],
        }
    )
    out = table_html(df, percent=["test_error"])
    heads = [h.split("</th>")[0] for h in out.split("<th>")[1:]]
    assert heads == ["evaluation set", "test error (%)", "FID", "KID", "Kendall p"]
    cells = [c.split("</td>")[0] for c in out.split('<td class="n">')[1:]]
    # percent to 3 significant digits of the largest; FID to whole units; KID to 4 decimals; p in 1.0e-05 form
    assert cells == ["12.3", "1234", "0.0123", "3.0e-05", "5.0", "12", "0.0004", "4.2e-01"]
    assert table_html(df, floats="{:.1f}").count(">0.0<") == 2  # a format for every float column (not p)


def test_svg_figures_name_every_point_on_hover_and_inline_with_their_own_ids(tmp_path):
    errors = pl.DataFrame(
        {
            "model": [f"m{i}-base-s0" for i in range(4)] * 2,
            "epoch": [1] * 8,
            "eval_set": ["test"] * 4 + ["wgan"] * 4,
            "error": [0.1, 0.2, 0.3, 0.4, 0.15, 0.2, 0.35, 0.5],
            "n": [10] * 8,
        }
    )
    rank = rank_correlation(errors, seed=0)
    error_scatter(errors, rank, tmp_path / "a.svg")
    error_scatter(errors, rank, tmp_path / "b.svg")
    svg = (tmp_path / "a.svg").read_text()
    assert svg.count("<title>") == 4
    assert "<title>m2-base-s0: wgan 35.0%, test 30.0%</title>" in svg
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()  # deterministic
    tag = image_tag(tmp_path / "a.svg", "scatter")
    other = image_tag(tmp_path / "b.svg", "scatter")
    assert tag.startswith('<svg class="figure" role="img" aria-label="scatter"')
    assert "<?xml" not in tag
    ids = set(re.findall(r'\bid="([^"]+)"', tag))
    assert ids
    assert not ids & set(re.findall(r'\bid="([^"]+)"', other))
    assert all(ref in ids for ref in re.findall(r"url\(#([^)]+)\)", tag))  # and every reference still resolves


def test_class_errors_average_each_models_last_epoch(tmp_path):
    predictions = pl.DataFrame(
        {
            "model": ["a"] * 4 + ["a"] * 4 + ["b"] * 4,
            "epoch": [1] * 4 + [2] * 4 + [2] * 4,
            "eval_set": ["test"] * 12,
            "label": [0, 0, 1, 1] * 3,
            "prediction": [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0],
        }
    )
    table = class_errors(predictions)
    # class 0: a (epoch 2) 1/2, b 0/2 -> 0.25; class 1: a 0/2, b 2/2 -> 0.5; epoch 1 of a is not used
    assert table.select("label", "error", "models").rows() == [(0, 0.25, 2), (1, 0.5, 2)]
    class_error_heatmap(table, tmp_path / "classes.svg", title="t")
    svg = (tmp_path / "classes.svg").read_text()
    assert "error per class, mean over models (t)" in svg
    assert ">25<" in svg
    assert ">50<" in svg


def test_the_report_and_its_figures_load_without_torch():
    """The jobs that only read tables and draw (ranking, figures, the report) start without torch, which
    costs each of them 1.5 s or more."""
    import subprocess
    import sys

    code = (
        "import sys, synthval.report.build, synthval.report.figures, synthval.report.sections; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_missing_html_lists_the_files_and_counts_the_rest():
    out = missing_html("the zoo", [f"results/f{i}.parquet" for i in range(10)], "Not trained yet.")
    assert "Not available yet: the zoo." in out
    assert "Missing 10 files" in out
    assert "results/f0.parquet" in out
    assert "... and 2 more" in out


def test_report_page_forbids_network_requests():
    page = Report("t")
    page.add("a", "A", "<p>x</p>")
    html = page.render()
    assert f'content="{CSP}"' in html
    assert "default-src 'none'" in CSP
    assert "img-src data:" in CSP
    assert '<section id="a"><h2>A</h2>' in html
    assert '<a href="#a">A</a>' in html


def test_stage_times_sums_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for rule, name, s, rss in (("train", "a", 2.0, 100.0), ("train", "b", 3.5, 250.0), ("predict", "x/y", 1.0, 50.0)):
        path = tmp_path / rule / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{s}\t0:00:0{int(s)}\t{rss}\t1\t1\t1\t0\t0\t90\t{s / 2}\n")
    table = {r["stage"]: r for r in stage_times(tmp_path).iter_rows(named=True)}
    assert table["train"]["jobs"] == 2
    assert table["train"]["wall s (sum)"] == 5.5
    assert table["train"]["wall s (longest job)"] == 3.5
    assert table["train"]["peak RSS (MB)"] == 250.0
    assert table["train"]["CPU s (sum)"] == 2.75
    assert table["predict"]["jobs"] == 1
    assert stage_times(tmp_path / "none").height == 0


def test_protocol_and_calibration_figures_are_drawn(tmp_path):
    protocols = pl.DataFrame(
        {
            "eval_set": ["g"] * 3,
            "protocol": ["ES", "standard protocol", "oracle"],
            "selection": ["g", "val", "test"],
            "test_error": [0.3, 0.2, 0.1],
            "low": [0.2, 0.1, 0.1],
            "high": [0.4, 0.3, 0.1],
            "regret": [0.2, 0.1, 0.0],
            "units": [4, 4, 4],
        }
    )
    protocol_bars(protocols, tmp_path / "p.png")
    calibration = pl.DataFrame(
        {
            "generator": ["g"] * 4,
            "calibration_models": [2, 2, 4, 4],
            "ridge": [0.1, 1.0, 0.1, 1.0],
            "draws": [3] * 4,
            "spearman": [0.5, 0.6, 0.7, 0.8],
            "spearman_min": [0.4, 0.5, 0.6, 0.7],
            "spearman_max": [0.6, 0.7, 0.8, 0.9],
            "uncalibrated_spearman": [0.55] * 4,
        }
    )
    calibration_sweep(calibration, tmp_path / "c.png")
    calibration_sweep(calibration.clear(), tmp_path / "empty.png")  # no fit members: a figure that says so
    for name in ("p", "c", "empty"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the rendered report of the tiny run ---


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api")
    return path


def render_in_chromium(page_path: Path, screenshot: Path) -> dict:
    """Open the page in headless Chromium: every request it makes, console errors, which sections and
    images are there, whether sorting a table works; and a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        result = page.evaluate("""() => ({
            sections: Array.from(document.querySelectorAll("section"))
                .map(s => [s.id, s.querySelector("h2").textContent]),
            images: Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]).concat(
                Array.from(document.querySelectorAll("svg.figure"))
                    .map(s => [s.getAttribute("aria-label"), s.getBoundingClientRect().width > 50])),
            hovers: document.querySelectorAll("svg.figure use > title").length,
            missing: document.querySelectorAll(".missing").length,
            tables: document.querySelectorAll("table.sortable").length,
            width: document.documentElement.scrollWidth,
        })""")
        result["first_screen"] = {}
        for width, height in ((1280, 900), (1920, 1080)):  # where the answer lies at a laptop's and a desktop's width
            page.set_viewport_size({"width": width, "height": height})
            result["first_screen"][width] = page.evaluate("""() => {
                const box = s => { const e = document.querySelector(s); if (!e) return null;
                                   const r = e.getBoundingClientRect(); return [r.top, r.bottom, r.right]; };
                return {verdict: box("#answer .verdict"), table: box("#answer table.answer"),
                        width: document.documentElement.scrollWidth};
            }""")
        page.set_viewport_size({"width": 1280, "height": 900})
        # sort the zoo table by its test-error column, ascending then descending
        table = page.locator("#zoo table").first
        if table.count():
            headers = table.locator("th").all_text_contents()
            col = headers.index("test error (%)") if "test error (%)" in headers else 0
            cells = lambda: table.locator(f"tbody tr td:nth-child({col + 1})").all_text_contents()  # noqa: E731
            table.locator("th").nth(col).click()
            result["ascending"] = cells()
            table.locator("th").nth(col).click()
            result["descending"] = cells()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    result["requests"], result["errors"] = requests, errors
    return result


@pytest.mark.integration
def test_report_renders_in_chromium_with_every_section_and_image_and_no_network(tiny_run):
    page = tiny_run / report_html()
    seen = render_in_chromium(page, SCREENSHOTS / "report-tiny.png")
    assert seen["requests"] == [page.resolve().as_uri()]  # the page itself, nothing else
    assert seen["errors"] == []  # no script error, no blocked (CSP) resource
    assert [tuple(s) for s in seen["sections"]] == list(SECTIONS.items())
    alts = [alt for alt, _ in seen["images"]]
    assert all(ok for _, ok in seen["images"]), [alt for alt, ok in seen["images"] if not ok]
    for name in GENERATORS:
        assert f"samples of {name}" in alts
        assert f"training history of {name}" in alts
    for alt in (
        "PRD and ARC curves, train300",
        "synthetic vs test error, train300",
        "selection protocols, train300",
        "calibration sweep, train300",
        "scaling, train300",
        "content gap, train300",
        "error per class, train300",
    ):
        assert alt in alts
    assert seen["hovers"] >= 12  # every model of the scatter names itself on hover
    assert seen["missing"] == 0
    assert seen["tables"] >= 10
    assert seen["width"] <= 1280
    for width, screen in seen["first_screen"].items():  # the verdict and the answer table start the first screen
        height = 900 if width == 1280 else 1080
        assert screen["verdict"][1] < height / 2, (width, screen)
        assert screen["table"][0] < height / 2, (width, screen)
        assert screen["table"][2] <= width, (width, screen)  # every column visible, no sideways scrolling
        assert screen["width"] <= width, (width, screen)
    numbers = [float(x) for x in seen["ascending"]]
    assert numbers == sorted(numbers)
    assert [float(x) for x in seen["descending"]] == sorted(numbers, reverse=True)
    assert (SCREENSHOTS / "report-tiny.png").stat().st_size > 10_000


def _pct(x):
    return f"{x * 100:.2f}%"


def _architecture_rho(members: pl.DataFrame, eval_set: str) -> float:
    """Spearman's rho over architecture means, by hand: where every configuration has two seeds or more,
    the set's errors from the even-indexed seeds and the test's from the odd (and the other way round,
    averaged); else every seed on both sides. NaN below 3 architectures."""
    parts = members["model"].str.extract_groups(r"^(?P<arch>[^-]+)-(?P<variant>[^-]+)-s(?P<seed>[0-9]+)$")
    table = members.with_columns(parts.struct.unnest()).with_columns(pl.col("seed").cast(pl.Int64))
    table = table.with_columns(position=pl.col("seed").rank("ordinal").over("arch", "variant") - 1)
    if table["arch"].n_unique() < 3:
        return float("nan")
    halves = table.group_by("arch", "variant").len()["len"].min() >= 2

    def arch_means(column: str, keep: pl.Expr) -> np.ndarray:
        cells = table.filter(keep).group_by("arch", "variant").agg(pl.col(column).mean())
        return cells.group_by("arch").agg(pl.col(column).mean()).sort("arch")[column].to_numpy()

    if not halves:
        every = pl.lit(True)
        return stats.spearmanr(arch_means(eval_set, every), arch_means("test", every)).statistic
    even, odd = pl.col("position") % 2 == 0, pl.col("position") % 2 == 1
    one = stats.spearmanr(arch_means(eval_set, even), arch_means("test", odd)).statistic
    two = stats.spearmanr(arch_means(eval_set, odd), arch_means("test", even)).statistic
    return (one + two) / 2


def check_headline_numbers(workdir: Path, trainset: str, generators: list[str]) -> None:
    """Recompute a few headline numbers from the Parquet tables, independently of synthval's own code,
    and find them in the HTML."""
    html = (workdir / report_html()).read_text()
    errors = pl.read_parquet(workdir / errors_table(trainset))
    every = errors.filter(pl.col("epoch") == pl.col("epoch").max().over("model")).pivot(
        on="eval_set", index="model", values="error"
    )
    last = every.filter(~pl.col("model").str.ends_with("-fit"))
    fit = every.filter(pl.col("model").str.ends_with("-fit"))

    def by_config(frame: pl.DataFrame) -> pl.DataFrame:  # each configuration the mean of its seeds
        config = pl.col("model").str.replace(r"-s[0-9]+(-fit)?$", "")
        numbers = [c for c, t in frame.schema.items() if t.is_numeric()]
        return frame.with_columns(config=config).group_by("config").agg(pl.col(numbers).mean()).sort("config")

    configs = by_config(last.drop("model").with_columns(model=last["model"]))
    for eval_set in ["augmented", *generators]:
        rho = stats.spearmanr(configs[eval_set], configs["test"]).statistic
        assert f"ranks the train members' configurations, pooled, with Spearman rho = {rho:.3f}" in html, (
            eval_set
        )  # the findings quote rho to three places, and describe the pooled rho without a verdict
        arch = _architecture_rho(last, eval_set)
        if arch == arch:
            assert (
                f"answers <b>which architecture?</b> for the train members with Spearman rho over architecture "
                f"means = {arch:.3f}" in html
            ), eval_set
    fit_configs = by_config(fit.drop("model").with_columns(model=fit["model"]))
    val = stats.spearmanr(fit_configs["val"], fit_configs["test"]).statistic  # the real baseline beside them
    assert f"the <b>val split</b>, ranks the fit members' configurations, pooled, with Spearman rho = {val:.3f}" in html
    assert "<h2" in html
    assert html.index('id="answer"') < html.index('id="run"')
    test = last["test"].to_numpy()
    assert np.isfinite(test).all()
    assert f"test errors span {_pct(test.min())} to {_pct(test.max())}" in html
    oracle = errors.filter(pl.col("eval_set") == "test")["error"].min()  # best test error of any model and epoch
    assert f"the oracle reaches {_pct(oracle)}" in html
    protocols = pl.read_parquet(workdir / selection_table(trainset, "protocols")).filter(pl.col("group") == "all")
    standard = protocols.filter(pl.col("protocol") == "standard protocol")["test_error"][0]
    assert f"chosen on val ({_pct(standard)})" in html
    for eval_set in ["augmented", *generators]:
        rows = {
            r["protocol"]: r["test_error"]
            for r in protocols.filter(pl.col("eval_set") == eval_set).iter_rows(named=True)
        }
        assert f"set minus standard {(rows['synthetic protocol'] - standard) * 100:+.2f} points" in html, eval_set
    calibration = pl.read_parquet(workdir / selection_table(trainset, "calibration"))
    for point in calibration.filter(pl.col("chosen"), pl.col("group") == "all").iter_rows(named=True):
        before, after = (
            "undefined" if np.isnan(r) else f"{r:.3f}" for r in (point["uncalibrated_spearman"], point["spearman"])
        )
        assert f"{before} uncalibrated, {after} calibrated" in html

    # every set's FID, in the column's digits (set by its largest value, over all the run's sets)
    def overall_fid(table: Path) -> float:
        return pl.read_parquet(table).filter(pl.col("class") == "all", pl.col("metric") == "fid")["value"][0]

    tables = (workdir / quality_table(trainset, "any")).parent.parent.glob("*/metrics.parquet")
    fids = {table.parent.name: overall_fid(table) for table in tables}
    written = column_format("FID", pl.Series(list(fids.values())))
    for name in generators:
        assert f'<td class="n">{written(fids[name])}</td>' in html, name
    assert f"{last.height} of {last.height} models trained." in html
    for model in last["model"]:
        assert f"<td>{model}</td>" in html
    for row in pl.read_parquet(workdir / selection_table(trainset, "corollary")).iter_rows(named=True):
        if row["pairs_above_tv"]:
            assert f"{row['preserved_above_tv'] * 100:.1f}% of the {row['pairs_above_tv']} pairs above TV" in html
    _check_training_numbers(workdir, trainset, html)
    assert "Complete: all" in html


@pytest.mark.integration
def test_headline_numbers_in_the_report_match_the_tables(tiny_run):
    check_headline_numbers(tiny_run, "train300", GENERATORS)


def _check_training_numbers(workdir: Path, trainset: str, html: str) -> None:
    """The training study's real-only accuracy and each run's paired gain, recomputed with numpy."""
    accuracy_file = workdir / training_table(trainset, "accuracy")
    if not accuracy_file.is_file():
        return
    acc = pl.read_parquet(accuracy_file).filter(pl.col("eval_set") == "test")
    real = acc.filter(pl.col("method") == "real").sort("seed")
    values = real["accuracy"].to_numpy()
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    assert (
        f"real-only training reaches {values.mean() * 100:.2f} [{(values.mean() - half) * 100:.1f}, "
        f"{(values.mean() + half) * 100:.1f}]%"
    ) in html
    for run in acc.filter(pl.col("method") != "real")["run"].unique().sort():
        gains = acc.filter(pl.col("run") == run).sort("seed")["accuracy"].to_numpy() - values
        assert f"{run}: " in html, run
        assert f"{gains.mean() * 100:+.2f} points" in html, run
    # CAS in the quality table, in % to the column's digits
    cas = acc.filter(pl.col("method") == "synthetic").group_by("generator").agg(pl.col("accuracy").mean() * 100)
    written = column_format("CAS (%)", cas["accuracy"])
    for name, value in cas.iter_rows():
        assert f'<td class="n">{written(value)}</td>' in html, name


def test_headline_numbers_of_the_default_run_match_its_tables():
    """The embedded default's report, where `make demo` has made it in this checkout."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    trainsets = list(config["data"]["train_sizes"])
    if (
        not all((ROOT / selection_table(t, "corollary")).is_file() for t in trainsets)
        or not (ROOT / report_html()).is_file()
    ):
        pytest.skip("the default run's results are not in this checkout (make demo)")
    for trainset in trainsets:
        check_headline_numbers(ROOT, trainset, list(config["generators"]))


@pytest.mark.integration
def test_partial_run_leaves_a_report_that_says_what_is_missing(tiny_run, tmp_path):
    # a run that has its data, reference classifier and generators, and nothing after them
    for part in ("data", "reference", "generators"):
        shutil.copytree(tiny_run / RESULTS / part, tmp_path / RESULTS / part)
    for png in (tmp_path / RESULTS / "generators").rglob("history.png"):
        png.unlink()  # the partial report draws these from the generators' records itself
    # the DDPM is still training: what it has appended so far, and its first sample grid
    Path(tmp_path / generator_weights("train300", "ddpm")).unlink()
    live = LiveLog(tmp_path / generator_live_log("train300", "ddpm"))
    live.restart([{"step": 50, "loss": 0.9}, {"step": 100, "loss": 0.5}])
    live.append({"step": 100, "score": 41.5})
    grid = tmp_path / generator_live_grids("train300", "ddpm") / "step-000100.png"
    grid.parent.mkdir(parents=True)
    grid.write_bytes(encode_png(tile_images(np.zeros((16, 8, 8, 1), np.uint8), 8)))
    snakemake(tmp_path, "-f", "partial_report")
    page = tmp_path / partial_report_html()
    html = page.read_text()
    assert "Partial report" in html
    assert "Not available yet: the zoo of train300" in html
    assert "Not available yet: rank correlations" in html
    assert 'aria-label="training history of wgan"' in html
    assert "Not available yet: samples of wgan" in html
    assert "Not available yet: generator ddpm" in html
    assert "Training so far (step 100;" in html
    assert 'aria-label="training history of ddpm so far"' in html
    assert 'alt="samples of ddpm at step-000100"' in html
    assert not (tmp_path / RESULTS / "synthetic").exists()
    assert not (tmp_path / report_html()).exists()
    seen = render_in_chromium(page, SCREENSHOTS / "partial-report-tiny.png")
    assert all(ok for _, ok in seen["images"])
    assert seen["missing"] > 5
    assert seen["errors"] == []
    assert [tuple(s) for s in seen["sections"]] == list(SECTIONS.items())
    # a run that stops short of the report (here: one augmented split) leaves a partial report too, as the
    # default report.partial says (the tests' configs turn it off for their many short runs)
    page.unlink()
    shutil.rmtree((tmp_path / augmented_manifest("train300", "fit")).parent)
    config = yaml.safe_load(TINY.read_text())
    config["report"]["partial"] = True
    (tmp_path / "partial.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, augmented_manifest("train300", "fit"), config=tmp_path / "partial.yaml")
    assert "Partial report of what exists" in proc.stderr + proc.stdout
    assert "Partial report" in page.read_text()
    assert "Not available yet: samples of ddpm" in page.read_text()


@pytest.mark.integration
def test_the_docs_figures_of_a_run_come_from_its_results(tiny_run):
    """make docs' blocks of a run: the pooled zoo's answer table as the report has it, the verdict
    sentences the report opens with, and each generator's FID and TV as its quality table holds them."""
    from synthval.report.docs import run_blocks

    blocks = run_blocks(tiny_run, TINY)
    html = (tiny_run / report_html()).read_text()
    assert blocks["verdict"] in html.replace("&#x27;", "'")
    lines = blocks["answer"].splitlines()
    assert lines[1].startswith("training set  selection set  group  question")
    assert all(" all " in line for line in lines[3:-1])
    for name in GENERATORS:
        table = pl.read_parquet(tiny_run / quality_table("train300", name)).filter(pl.col("class") == "all")
        fid = table.filter(pl.col("metric") == "fid")["value"][0]
        assert f"{name} FID {fid:.1f}," in blocks["quality"]


def test_the_data_section_states_the_label_order_and_what_reading_the_folder_changed():
    from synthval.report.sections import data_section

    summary = {
        "source": "imagefolder",
        "pool": 30,
        "image_shape": [16, 16, 3],
        "class_names": ["2", "10", "cat"],
        "splits": {"train": {"count": 20, "per_class": [7, 7, 6]}, "test": {"count": 10, "per_class": [3, 3, 4]}},
        "decoding": {"skipped_files": 2, "converted from L": 5, "resized": 30},
    }
    page = str(data_section({"t": summary}, {}))
    assert "0 <b>2</b>, 1 <b>10</b>, 2 <b>cat</b>" in page  # labels in the order the shards record
    assert "2 skipped files; 5 converted from L; 30 resized" in page
    del summary["decoding"]  # a built-in source: nothing was decoded from files
    assert "Reading the image folder" not in str(data_section({"t": summary}, {}))
