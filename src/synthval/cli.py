"""The ``synthval`` command: the workflow from any directory, quality metrics of two image sets, the
report of a results folder, and the published weights of the feature extractors.

    synthval run [-c CONFIG] [--cores N | --profile P] [TARGETS...] [-- SNAKEMAKE OPTIONS...]
    synthval score REAL FAKE [--config C] [--extractor E --weights W] [--metrics M] [--device D] [--json OUT]
    synthval report [--results DIR] [--config C] [--partial]
    synthval weights fetch NAME [--out PATH] [--sha256 HEX]

``run`` wraps Snakemake with this repository's Snakefile, working in the current directory (its
``results/``): it checks the config and the data first and prints the plan. ``score`` computes every
quality metric of the workflow (synthval.metrics.quality) for two sets, each a folder of images, a
folder of class folders (ImageFolder: per-class metrics too), a Parquet table, an npz or a synthval
manifest; the images are brought to the first set's size and channels. ``report`` renders the report
of ``results/`` in the current directory (or in ``--results DIR``). ``weights fetch`` downloads an
extractor's published weights, checks them and writes them as safetensors where the config looks.
Input errors are one line on stderr and exit status 2 (``--debug`` shows the traceback); a run ends with
the workflow's own status.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE = 2
REPOSITORY = Path(__file__).resolve().parents[2]  # an editable install: the repository holding the Snakefile


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


def snakefile() -> Path:
    path = REPOSITORY / "Snakefile"
    if not path.is_file():
        raise UsageError(
            f"the workflow's Snakefile is not at {path}: synthval run needs the repository "
            "(git clone it and pip install -e it)"
        )
    return path


def base_command(args: argparse.Namespace) -> list[str]:
    """Snakemake with this repository's Snakefile in the current directory, the profile or cores, and the
    config (a leading ``.yaml`` among the targets, taken off them)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()), "--directory", str(Path.cwd())]
    if args.profile:
        cmd += ["--profile", args.profile]
    else:
        cmd += ["--cores", str(args.cores)]
    if config := run_config(args):
        cmd += ["--configfile", str(config_path(config).resolve())]
    return cmd


def shipped_configs() -> list[str]:
    """The configs this repository ships (``config/<name>.yaml``), by name."""
    return sorted(p.stem for p in (REPOSITORY / "config").glob("*.yaml"))


def config_path(config: str) -> Path:
    """``-c``'s file: a path, or the name of a shipped config (``digits-study``) from any directory."""
    given = Path(config)
    if given.is_file():
        return given
    shipped = REPOSITORY / "config" / (given.name if given.suffix in (".yaml", ".yml") else f"{given.name}.yaml")
    if shipped.is_file() and given.parent in (Path("."), Path("config")):
        return shipped
    hint = " (-c names the config here; --cores N sets the cores)" if config.isdigit() else ""
    raise UsageError(f"config file not found: {config}{hint}; shipped configs by name: {', '.join(shipped_configs())}")


def preflight(args: argparse.Namespace, dry: bool = False) -> dict:
    """The run's config read, validated and checked against the data on disk before Snakemake starts:
    a problem is a :class:`UsageError`, one line each, naming the file and the key (or line); in a dry
    run (``dry``) the data's problems are warnings, so a config can be planned where its data is not."""
    from synthval.config import ConfigError, data_facts, data_problems, read_config_file, validate_config

    given = run_config(args)
    path = config_path(given) if given else REPOSITORY / "config" / "config.yaml"
    shown = given or "the embedded default"
    try:
        config = validate_config(read_config_file(path))
    except ConfigError as err:
        lines = str(err).splitlines()
        problems = [line.strip() for line in lines[1:]] if lines[0] == "invalid config:" else lines
        prefix = "" if problems[0].startswith(str(path)) else f"{shown}: "
        raise UsageError("\n".join(prefix + p for p in problems)) from err
    if (problems := data_problems(config)) and dry:
        for problem in problems:
            print(f"synthval run: warning: {shown}: {problem} (a real run stops here)", file=sys.stderr)
    elif problems:
        raise UsageError("\n".join(f"{shown}: {p}" for p in problems))
    if facts := data_facts(config):
        print(f"synthval run: {facts}", file=sys.stderr)
    return config


def _leading_config(targets: list[str]) -> bool:
    return bool(targets) and targets[0].endswith((".yaml", ".yml"))


def run_config(args: argparse.Namespace) -> str | None:
    """The run's config file: ``-c CONFIG``, or a ``.yaml`` given first among the targets (the older form)."""
    if args.config and _leading_config(args.targets):
        raise UsageError(f"two configs: -c {args.config} and {args.targets[0]} (give one)")
    return args.config or (args.targets[0] if _leading_config(args.targets) else None)


def run_command(args: argparse.Namespace) -> list[str]:
    """The Snakemake command line of ``synthval run``: it resumes a run that was stopped, remaking
    incomplete outputs (a job's resumable state lives beside its outputs, never in them, so that is safe)."""
    targets = list(args.targets[1:] if _leading_config(args.targets) else args.targets)
    resume = [] if {"--rerun-incomplete", "--ri"} & set(args.extra) else ["--rerun-incomplete"]
    return base_command(args) + resume + [*args.extra, *targets]


def _live_runs(directory: Path) -> list[int]:
    """Process ids of Snakemake runs working in ``directory`` (read from /proc; empty where there is none)."""
    here = str(directory.resolve())
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if int(proc.name) == os.getpid() or not any("snakemake" in w for w in words):
            continue
        at = words[words.index("--directory") + 1] if "--directory" in words[:-1] else cwd
        if str(Path(cwd, at).resolve()) == here:
            found.append(int(proc.name))
    return found


def clear_stale_lock(base: list[str], directory: Path) -> str | None:
    """Before a run: if ``directory`` holds Snakemake's lock, tell a live run (stop: one line) from a
    killed one (``base`` with ``--unlock``, said in one line). Returns what was done, if anything."""
    locks = directory / ".snakemake" / "locks"
    if not locks.is_dir() or not any(locks.iterdir()):
        return None
    if not Path("/proc/self").exists():  # no way to tell here: leave the decision to Snakemake
        return None
    if live := _live_runs(directory):
        raise UsageError(
            f"another run (pid {', '.join(map(str, live))}) is working in {directory}: wait for it or stop it"
        )
    subprocess.run([*base, "--unlock"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return "an earlier run was stopped before it finished: unlocked, resuming (incomplete files are made again)"


def load_images(path: str, size: int | None = None, channels: int | None = None) -> Any:
    """An image set from a folder of class folders, a flat folder of images (one class, ``flat``), a
    Parquet table, an npz or a synthval manifest, brought to ``size`` and ``channels`` (default: its own)."""
    import numpy as np
    from PIL import Image

    from synthval.data.datasets import (
        IMAGE_SUFFIXES,
        FolderImages,
        FolderScan,
        ImageArray,
        folder_channels,
        folder_classes,
        read_source,
        resize_images,
    )
    from synthval.data.shards import read_image_set

    p = Path(path)
    if not p.exists():
        raise UsageError(f"no image set at {p}")
    flat = False
    try:
        if p.suffix == ".json":
            data = read_image_set(p)
            array = ImageArray(data.images, data.labels, [])
        elif p.is_dir() and not folder_classes(p):  # a flat folder: unconditional metrics only
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise UsageError(f"{p} holds no images (png, jpg, ...) and no class folders")
            scan = FolderScan(p, files, [0] * len(files), ["all"], [])
            with Image.open(files[0]) as first:
                own = first.height
            lazy = FolderImages(files, size or own, channels or folder_channels(scan))
            array, flat = ImageArray(lazy[:], np.zeros(len(files), np.int64), ["all"]), True
        else:
            kind = "imagefolder" if p.is_dir() else {".parquet": "parquet", ".npz": "npz"}.get(p.suffix)
            if kind is None:
                raise UsageError(f"{p}: not a folder, .parquet, .npz or manifest.json")
            array = read_source(kind, p)
    except (OSError, ValueError, KeyError) as err:  # an unreadable image, an npz without labels...
        message = " ".join(str(err).split())
        raise UsageError(message if str(p) in message else f"{p}: {message}") from err
    if not len(array.labels):
        raise UsageError(f"{p} holds no images")
    h, _, c = array.images.shape[1:]
    images = resize_images(np.asarray(array.images), size or h, channels or c)
    result = ImageArray(images, array.labels, array.class_names)
    result.flat = flat  # type: ignore[attr-defined]
    return result


def _features(extractor: Any, images: Any, what: str, batch_size: int | None) -> Any:
    """Features of ``images`` in batches, with progress on stderr (a line at most every 5 s)."""
    import logging

    import numpy as np

    from synthval.runtime import Progress

    log = logging.getLogger("synthval.score")
    step = int(batch_size or getattr(extractor, "batch_size", None) or 128)
    progress = Progress(log, f"features of {what}:", len(images), every=5.0)
    out = []
    for start in range(0, len(images), step):
        out.append(extractor(images[start : start + step], batch_size=step))
        progress.update(min(start + step, len(images)))
    return np.concatenate(out)


def _score_quality(args: argparse.Namespace) -> dict[str, Any]:
    """The quality settings ``score`` uses: the config's (or the schema's), with the flags' extractor,
    weights and model; a missing piece is an error naming the flag."""
    from synthval.config import ConfigError, fill_default_weights, load_config, validate_config

    try:
        config = load_config(args.config) if args.config else validate_config({})
    except ConfigError as err:
        raise UsageError(" ".join(str(err).split())) from err
    quality = dict(config["quality"])
    extractor_name = args.extractor or (quality["extractor"] if args.config else "random")
    if extractor_name != quality["extractor"]:
        quality["extractor"], quality["weights"] = extractor_name, None  # the config's weights were another's
    if args.weights:
        quality["weights"] = args.weights
    fill_default_weights(quality)
    if args.timm_model:
        quality["timm_model"] = args.timm_model
    if quality["extractor"] == "timm" and not quality.get("timm_model"):
        raise UsageError("--extractor timm needs --timm-model NAME (a timm model name, e.g. resnet50)")
    if quality["extractor"] == "reference" and not args.weights:
        raise UsageError("--extractor reference needs --weights, a synthval classifier file")
    if quality["extractor"] not in ("reference", "random") and not quality.get("weights"):
        raise UsageError(f"--extractor {quality['extractor']} needs --weights, a local safetensors file")
    return quality


def _score_device(args: argparse.Namespace) -> int:
    """Threads (every core here by default) and ``--device`` set for this process; the threads."""
    from synthval.runtime import setup

    threads = args.threads or len(os.sched_getaffinity(0))
    setup(threads)
    if args.device:
        os.environ["SYNTHVAL_DEVICE"] = args.device
        import torch

        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: no CUDA device here")
    return threads


def score(args: argparse.Namespace) -> dict[str, Any]:
    """Every quality metric of FAKE against REAL (or those ``--metrics`` names), overall and, where both
    sets have classes, per class, in one feature space."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from synthval.io import IntegrityError
    from synthval.metrics.extractors import ReferenceExtractor, build_extractor
    from synthval.metrics.quality import GROUPS, QualitySettings, quality_tables

    threads = _score_device(args)
    quality = _score_quality(args)
    groups = tuple(args.metrics.split(",")) if args.metrics else None
    if groups and (unknown := set(groups) - set(GROUPS)):
        raise UsageError(f"--metrics: unknown {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    real = load_images(args.real)
    h, _, c = real.images.shape[1:]
    if quality["extractor"] == "random":
        quality["input_size"], quality["seed"] = h, 0
    try:
        extractor = build_extractor(quality, quality.get("weights"))
    except (OSError, ValueError, IntegrityError) as err:  # missing, wrong or damaged weights
        raise UsageError(" ".join(str(err).split())) from err
    if isinstance(extractor, ReferenceExtractor):  # the classifier's own size and channels
        h, c = extractor.classifier.config["image_size"], extractor.classifier.config["in_chans"]
        real = load_images(args.real, h, c)
    fake = load_images(args.fake, h, c)
    flat = real.flat or fake.flat
    settings = QualitySettings.from_config({**quality, **({"per_class": False} if flat else {})})
    with threadpool_limits(threads):
        rows, _ = quality_tables(
            _features(extractor, real.images, "REAL", args.batch_size),
            np.asarray(real.labels) * (not flat),
            _features(extractor, fake.images, "FAKE", args.batch_size),
            np.asarray(fake.labels) * (not flat),
            settings,
            args.seed,
            groups,
        )
    metrics: dict[str, dict[str, float]] = {}
    for row in rows:
        metrics.setdefault(str(row["class"]), {})[row["metric"]] = float(row["value"])
    return {
        "real": str(args.real),
        "fake": str(args.fake),
        "real_count": len(real.labels),
        "fake_count": len(fake.labels),
        "extractor": extractor.name,
        "extractor_info": {k: v for k, v in extractor.info.items() if isinstance(v, str | int | float)},
        "per_class": not flat,
        "seed": args.seed,
        "metrics": metrics,
    }


def _print_table(result: dict[str, Any]) -> None:
    overall = result["metrics"].get("all", {})
    print(f"{result['fake']} ({result['fake_count']} images) against {result['real']} ({result['real_count']}),")
    print(f"{result['extractor']} features, seed {result['seed']}:")
    from synthval.metrics import BY_NAME

    rows = [(BY_NAME[n].display if n in BY_NAME else n, v, BY_NAME.get(n)) for n, v in overall.items()]
    width = max((len(label) for label, _, _ in rows), default=0)
    for label, value, metric in rows:
        better = f"  ({metric.better} is better)" if metric and metric.better else ""
        print(f"  {label:<{width}}  {value:<10.6g}{better}".rstrip())


def report(args: argparse.Namespace) -> Path:
    """The report of the run in ``--results`` (made with ``-c``, by default the embedded config, as
    ``synthval run`` without ``-c``)."""
    from synthval.config import ConfigError, load_config
    from synthval.plan.paths import partial_report_html, report_html
    from synthval.report.build import build_report

    try:
        config = load_config(config_path(args.config) if args.config else REPOSITORY / "config" / "config.yaml")
    except ConfigError as err:
        raise UsageError(" ".join(str(err).split())) from err
    if not Path(args.results).is_dir():
        raise UsageError(f"no folder {args.results} (--results: the folder that holds results/)")
    name = partial_report_html() if args.partial else report_html()
    shown = Path(args.results) / name  # as the user named the folder: results/report/report.html from its run's folder
    os.chdir(args.results)  # the report reads and writes results/ relative to its run's folder
    out = Path(name).resolve()
    try:
        build_report(out, title=config["report"]["title"], config=config, partial=args.partial)
    except FileNotFoundError as err:
        raise UsageError(f"{err} (run synthval run first, or synthval report --partial)") from err
    return shown


EXAMPLES = {
    "run": """examples:
  synthval run                              # the embedded default (scikit-learn's digits), 2 cores
  synthval run -c my-data.yaml -- -n        # the plan: jobs by stage, costly parts, a time estimate
  synthval run -c my-data.yaml --cores all  # your config (copy config/my-data.yaml); results/ go here
  synthval run -c digits-study              # a shipped config, by name
  synthval run -c my.yaml --profile slurm   # every job a SLURM job (see docs/cluster.md)
  synthval run -c my.yaml -- --keep-going   # Snakemake's own options go after --
before any job: the config and the data are checked (one line a problem, status 2) and the plan printed
output: results/ in the current directory; the report at results/report/report.html""",
    "score": """examples:
  synthval score real/ fake/                       # two folders of images (or of class folders: per class too)
  synthval score real/ fake/ --metrics fid,prdc --device cuda --batch-size 256
  synthval score cifar10.npz samples.parquet --extractor inception --json scores.json
offline, without --extractor: a seeded random VGG-16 (no weights; comparable between sets scored with
the same seed and PyTorch, not with published FIDs: --extractor inception for those)
output: a table of every metric overall (--json: per class as well, to a file or '-' for stdout)""",
    "report": """examples:
  synthval report                           # the run in the current directory
  synthval report --results runs/cifar10 -c runs/cifar10/my.yaml
output: results/report/report.html (with --partial, results/report/partial-report.html)""",
    "weights": """examples:
  synthval weights fetch inception          # writes weights/inception.safetensors, where the config looks
  synthval weights fetch dinov2 --sha256 <hex>
  synthval weights fetch sscd --out /shared/weights/sscd.safetensors""",
}


def _add(commands: Any, name: str, help: str, debug: bool = True) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name, help=help, description=help, epilog=EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if debug:  # not for run: Snakemake has a --debug of its own
        sub.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return sub


def parser() -> argparse.ArgumentParser:
    from synthval import __version__
    from synthval.config import FETCHABLE

    top = argparse.ArgumentParser(
        prog="synthval",
        description="Can data generated from your training set stand in for real data? Run the workflow, "
        "score image sets, render the report, fetch published weights.",
        epilog="'synthval COMMAND -h' shows a command's options and examples.",
    )
    top.add_argument("--version", action="version", version=f"synthval {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = _add(commands, "run", "run the workflow in the current directory", debug=False)
    run.add_argument("-c", "--config", help="the config file (default: the embedded one, on scikit-learn's digits)")
    run.add_argument("--profile", help="a Snakemake profile (e.g. slurm)")
    run.add_argument("--cores", type=_cores, default=2, help="cores for local runs: a number or all (default 2)")
    run.add_argument(
        "targets", nargs="*", help="targets (files or rules; default: everything); Snakemake's own options go after --"
    )
    sc = _add(commands, "score", "quality metrics of FAKE against REAL")
    sc.add_argument(
        "real", help="the real images: a folder of images, a folder of class folders, .parquet, .npz or manifest.json"
    )
    sc.add_argument("fake", help="the synthetic images, in any of the same forms")
    sc.add_argument("-c", "--config", help="a synthval config whose quality section to use (default: the schema's)")
    sc.add_argument(
        "--extractor",
        choices=["random", "reference", "inception", "dinov2", "timm", "sscd"],
        help="the feature extractor: random (a seeded random VGG-16, no weights: the default without --config), "
        "inception (FID as torch-fidelity), dinov2, timm (--timm-model), sscd (copy-detection descriptors), "
        "reference (a trained synthval classifier; --weights); with --config: its quality.extractor",
    )
    sc.add_argument("--weights", help="the extractor's safetensors weights (default: weights/<extractor>.safetensors)")
    sc.add_argument("--timm-model", help="the timm model name (--extractor timm)")
    sc.add_argument("--seed", type=int, default=0, help="the metrics' seed (subsets, k-means, ARC splits)")
    sc.add_argument("--threads", type=int, default=0, help="CPU threads torch may use (default: every core here)")
    sc.add_argument("--device", help="cpu, cuda or cuda:N (default: the GPU where there is one)")
    sc.add_argument("--batch-size", type=int, help="images per forward pass (default: the extractor's, 128 or 512)")
    sc.add_argument(
        "--metrics", help="comma-separated groups to compute: fid, kid, prdc, prd (with TV), mmd, arc (default: all)"
    )
    sc.add_argument("--json", help="also write the result as JSON to this file ('-': stdout only, as JSON)")
    rep = _add(commands, "report", "the report of results/ in the current directory (or --results DIR)")
    rep.add_argument("--results", default=".", help="the run's folder, which holds results/ (default: here)")
    rep.add_argument(
        "-c",
        "--config",
        help="the config the results were made with, a file or a shipped name (default: the embedded one)",
    )
    rep.add_argument("--partial", action="store_true", help="render what exists, saying what is missing")
    wt = _add(commands, "weights", "download an extractor's published weights as safetensors")
    wt.add_argument("action", choices=["fetch"], help="fetch: download, check and convert")
    wt.add_argument("name", choices=FETCHABLE, help="inception (FID), dinov2 (dgm-eval's features), sscd (copies)")
    wt.add_argument("--out", help="where to write them (default: weights/NAME.safetensors, where the config looks)")
    wt.add_argument("--url", help="another address of the same file (a mirror, or a file:// path)")
    wt.add_argument("--sha256", help="the file's sha256 (or a prefix) to check instead of the published checksum")
    return top


def _cores(value: str) -> int | str:
    if value == "all":
        return value
    try:
        cores = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of cores or all") from None
    if cores < 1:
        raise argparse.ArgumentTypeError(f"{cores}: at least 1")
    return cores


def weights(args: argparse.Namespace) -> Path:
    from synthval.metrics.weights import ChecksumError, fetch_weights
    from synthval.runtime import setup

    setup(1)
    try:
        return fetch_weights(args.name, args.out, args.url, args.sha256)
    except ChecksumError as err:
        raise UsageError(str(err)) from err
    except OSError as err:  # unreachable address, no such file, a full disk: one line, named
        raise UsageError(f"{args.url or args.name}: {err}") from err


def _split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """``synthval ... -- ARGS``: what comes after ``--`` goes to Snakemake unread."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


DRY_RUN = ("-n", "--dry-run", "--dryrun")


def _unknown_options(args: argparse.Namespace, unknown: list[str]) -> None:
    if options := [a for a in unknown if a.startswith("-")]:
        mine = "-c/--config, --profile, --cores"
        jobs = " (cores: --cores N or --cores all)" if {"-j", "--jobs"} & {o.split("=")[0] for o in options} else ""
        raise UsageError(
            f"unknown option {' '.join(options)}{jobs}: synthval run takes {mine}, and passes Snakemake's own "
            "options given after --, e.g. synthval run -c my.yaml -- -n"
        )


def dry_run(args: argparse.Namespace, cmd: list[str], config: dict) -> int:
    """A dry run: Snakemake plans quietly, and the plan is printed as a summary by stage (Snakemake's full
    listing: ``--quiet`` of your own after ``--``, e.g. ``-- -n --quiet progress``)."""
    from collections import Counter

    from synthval.plan.summary import parse_job_stats, plan_summary

    env = {**os.environ, "SYNTHVAL_DATA_CHECKED": "1"}
    proc = subprocess.run([*cmd, "--quiet", "rules", "host"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        return proc.returncode
    counts = parse_job_stats(proc.stdout + proc.stderr)
    cores = None if args.profile or args.cores == "all" else int(args.cores)
    print(plan_summary(config, Counter(counts), cores, dry_run=True))
    return 0


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    args.extra = extra
    dry = any(a in DRY_RUN for a in extra)
    config = preflight(args, dry)
    cmd = run_command(args)
    if "--unlock" not in args.extra and (done := clear_stale_lock(base_command(args), Path.cwd())):
        print(f"synthval run: {done}", file=sys.stderr)
    if dry and not any(a.startswith("--quiet") or a == "-q" for a in extra):
        return dry_run(args, cmd, config)
    return subprocess.call(cmd, env={**os.environ, "SYNTHVAL_DATA_CHECKED": "1"})


def _dispatch(args: argparse.Namespace, unknown: list[str], after: list[str]) -> int:
    if args.command == "run":
        _unknown_options(args, unknown)
        return _run(args, unknown + after)
    if unknown or after:
        raise UsageError(f"unknown arguments {' '.join(unknown + after)}")
    if args.command == "score":
        result = score(args)
        if args.json == "-":
            print(json.dumps(result, indent=2))
        else:
            _print_table(result)
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    elif args.command == "weights":
        print(f"weights: {weights(args)}")
    else:
        print(f"report: {report(args)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv, after = _split_passthrough(list(sys.argv[1:] if argv is None else argv))
    args, unknown = parser().parse_known_args(argv)
    try:
        return _dispatch(args, unknown, after)
    except UsageError as err:
        if getattr(args, "debug", False):
            raise
        for line in str(err).splitlines():
            print(f"synthval {args.command}: {line}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
