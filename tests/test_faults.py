"""Fault injection on copies of the tiny run: every kind of artifact between jobs is flipped, truncated
and deleted in turn, the jobs that read it are rerun, and each must fail with the file's name in its own
log and on the terminal, without anything downstream of it running; deleting the file, as the message says, then
gives outputs byte-identical to the undamaged run's. A killed `snakemake` and two runs in one directory
are covered too.

Damage keeps the file's modification time (as bit rot or a bad copy does), so Snakemake schedules
nothing by itself and the consumers are named with --forcerun; the one case where the damage comes with
a new modification time, the issue's own scenario, has its own test."""

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from snakemake_runs import ROOT, TINY, snakemake

from synthval import forkserver
from synthval.forkserver import usage_path
from synthval.io import record_path

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Artifact:
    kind: str
    path: str  # the file damaged
    consumer: str  # the rule that reads it
    target: str  # an output of that consumer's job
    remake: str = ""  # what to delete to make the file again, when Snakemake does not know it (else the file)
    resume_of: str = ""  # a resume state: the output of the job that reads it (deleted so that the job runs)


LIRA = "results/privacy/train300/lira"
PIPELINE = [  # consumers that are not upstream of one another, so one run exercises them all
    Artifact(
        "manifest",
        f"{LIRA}/h3/generators/wgan/manifest.json",
        "train_lira",
        f"{LIRA}/h3/runs/synthetic-wgan/predictions.parquet",
    ),
    Artifact(
        "synthetic shard (Parquet)",
        f"{LIRA}/h1/generators/wgan/shard-00000.parquet",
        "index_lira_synthetic",
        f"{LIRA}/h1/generators/wgan/manifest.json",
    ),
    Artifact(
        "synthetic shard (WebDataset tar)",
        "results/synthetic/train300/ddpm/wds/shard-00000.tar",
        "index_webdataset",
        "results/synthetic/train300/ddpm/wds/manifest.json",
    ),
    Artifact(
        "generator weights",
        f"{LIRA}/h0/generators/wgan/generator.safetensors",
        "synthesize_lira_shard",
        f"{LIRA}/h0/generators/wgan/shard-00000.parquet",
    ),
    Artifact(
        "classifier weights",
        "results/classifiers/train300/mlp-base-s0/epoch-002.safetensors",
        "predict",
        "results/predictions/train300/mlp-base-s0.parquet",
    ),
    Artifact(
        "prediction table",
        "results/training/train300/real/s0/predictions.parquet",
        "summarize_training",
        "results/training/train300/accuracy.parquet",
    ),
    Artifact(
        "resume state",
        "results/resume/privacy/train300/generators/wgan-h2.safetensors",
        "train_lira_generator",
        f"{LIRA}/h2/generators/wgan/generator.safetensors",
        resume_of=f"{LIRA}/h2/generators/wgan/generator.safetensors",
    ),
]
SELECTION_AND_DATA = [  # the selection reads every prediction, so it runs apart from `predict` above
    Artifact(
        "quality table",
        "results/quality/train300/wgan/metrics.parquet",
        "select_models",
        "results/selection/train300/protocols.parquet",
    ),
    Artifact(
        "data shard (under its split's manifest)",
        "results/data/train300/test/shard-00000.parquet",
        "features",
        "results/features/train300/test.safetensors",
        remake="results/data/train300/test/manifest.json",
    ),
]


def _copy(tiny_run, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(tiny_run, work, symlinks=True)  # copy2: modification times kept, so all is up to date
    shutil.rmtree(work / ".snakemake" / "locks", ignore_errors=True)
    return work


def _damage(work, artifact, fault, tiny_run):
    path = work / artifact.path
    if artifact.resume_of:  # the state a killed job left: the finished weights stand in for it
        (work / artifact.resume_of).unlink()
        source = tiny_run / artifact.resume_of
        if fault == "delete":
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, path)
    stat = path.stat()
    data = bytearray(path.read_bytes())
    if fault == "flip":
        data[_telling_byte(path, data)] ^= 0x01
        path.write_bytes(bytes(data))
    elif fault == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        path.unlink()
        return
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _telling_byte(path, data):
    """The middle byte, or for Parquet the byte nearest the middle whose flip changes what a plain reader
    gets (a flip in a statistic no reader uses leaves the content, which the readers verify, as it was:
    tests/test_integrity.py covers every byte)."""
    middle = len(data) // 2
    if path.suffix != ".parquet":
        return middle
    clean = pq.read_table(path)
    probe = path.with_name(path.name + ".probe")
    for at in sorted(range(4, len(data) - 8), key=lambda i: abs(i - middle)):
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        probe.write_bytes(bytes(flipped))
        try:
            changed = not pq.read_table(probe).equals(clean)
        except Exception:  # noqa: BLE001 - any failure to read is a telling flip too
            changed = True
        if changed:
            probe.unlink()
            return at
    raise AssertionError(f"no byte of {path} changes its content")


def _run(work, artifacts):
    targets = [a.target for a in artifacts]
    proc = snakemake(work, *targets, "--forcerun", *targets, "--keep-going", check=False)
    return proc, proc.stdout + proc.stderr


def _ran(out):
    return sorted(line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("localrule "))


def _log_of(work, rule, out):
    """The log file Snakemake names for the failed job of ``rule``."""
    for line in out.splitlines():
        if line.startswith(f"Failed: {rule}") and "[log: " in line:
            return work / line.split("[log: ")[1].rstrip("]").split(", ")[0]
    raise AssertionError(f"no 'Failed: {rule}' line on the terminal:\n{out[-3000:]}")


def _assert_refused(work, artifacts, out, fault, only_consumers=True):
    """Each consumer failed naming the file, in its log and on the terminal; its outputs are absent and
    (``only_consumers``) nothing but the consumers ran: nothing downstream of a damaged file."""
    failing = [a for a in artifacts if not a.resume_of and not (fault == "delete" and not a.remake)]
    for a in failing:
        summary = next(line for line in out.splitlines() if line.startswith(f"Failed: {a.consumer}"))
        assert a.path in summary, (a.kind, fault, summary)
        log = _log_of(work, a.consumer, out).read_text().strip().splitlines()
        assert "FAILED" in log[-1], (a.kind, fault, log[-5:])
        assert a.path in log[-1], (a.kind, fault, log[-5:])
        assert "Traceback" in "\n".join(log), (a.kind, fault)
        assert not (work / a.target).exists(), (a.kind, fault)
    if only_consumers:
        assert set(_ran(out)) <= {a.consumer for a in artifacts}, _ran(out)


def _assert_restored(work, artifacts, tiny_run, out):
    for a in artifacts:
        for name in {a.target, a.path if not a.resume_of else a.target}:
            assert (work / name).read_bytes() == (tiny_run / name).read_bytes(), (a.kind, name)
        if a.resume_of:
            assert "train_lira_generator" in _ran(out)


@pytest.mark.parametrize("group", [PIPELINE, SELECTION_AND_DATA], ids=["pipeline", "selection-and-data"])
def test_every_artifact_flipped_truncated_or_deleted_is_refused_by_name_and_remade(tiny_run, tmp_path, group):
    work = _copy(tiny_run, tmp_path)
    for fault in ("flip", "truncate"):
        for a in group:
            _damage(work, a, fault, tiny_run)
        proc, out = _run(work, group)
        assert proc.returncode != 0
        _assert_refused(work, group, out, fault)
        # a run of 7 jobs forks them from a warm process; one of 2 does without (forkserver.MIN_JOBS)
        failed = [_log_of(work, a.consumer, out) for a in group if not a.resume_of]
        assert {usage_path(log).exists() for log in failed} == {len(group) >= forkserver.MIN_JOBS}
        for a in group:  # a resumed job warned and started afresh, to the same weights
            if a.resume_of:
                log = (work / "results/logs/train_lira_generator/train300/wgan/h2.log").read_text()
                assert f"resume state {a.path} is damaged" in log
                assert (work / a.target).read_bytes() == (tiny_run / a.target).read_bytes()
    # the truncated files deleted, as the messages say: Snakemake remakes what it knows; a data split's
    # shard is refused as missing until its manifest goes too
    for a in group:
        _damage(work, a, "delete", tiny_run)
    proc, out = _run(work, group)
    if remade := [a for a in group if a.remake]:
        assert proc.returncode != 0
        _assert_refused(work, remade, out, "delete", only_consumers=False)
        for a in remade:
            assert "is missing" in _log_of(work, a.consumer, out).read_text()
            (work / a.remake).unlink()
        proc, out = _run(work, remade)
    assert proc.returncode == 0, out[-3000:]
    _assert_restored(work, group, tiny_run, out)


def test_a_shard_changed_on_disk_is_refused_by_the_indexer_and_named(tiny_run, tmp_path):
    """The scenario as a user meets it: one byte of a synthetic shard flipped by a write (so Snakemake sees
    the shard as updated and reruns the indexer and the WebDataset conversion): both refuse it, naming the
    shard in their logs and on the terminal, and no manifest is written; deleting the shard remakes it and
    the manifests, byte for byte."""
    work = _copy(tiny_run, tmp_path)
    shard = "results/synthetic/train300/wgan/shard-00000.parquet"
    manifests = ["results/synthetic/train300/wgan/manifest.json", "results/synthetic/train300/wgan/wds/manifest.json"]
    data = bytearray((work / shard).read_bytes())
    data[len(data) // 2] ^= 0x01
    (work / shard).write_bytes(bytes(data))
    proc = snakemake(work, *manifests, "--keep-going", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for rule in ("index_synthetic", "convert_webdataset"):
        line = next(line for line in out.splitlines() if line.startswith(f"Failed: {rule}"))
        assert f"{shard} was changed after the job that wrote it finished" in line, line
        assert f"{shard} was changed after" in _log_of(work, rule, out).read_text().splitlines()[-1]
    assert not (work / manifests[0]).exists()  # never hashed into a manifest as good
    assert "index_webdataset" not in _ran(out)  # the tar set's manifest stays the old one, of the old tars
    (work / shard).unlink()
    proc = snakemake(work, *manifests)
    for name in [shard, record_path(shard), *manifests]:
        assert (work / name).read_bytes() == (tiny_run / name).read_bytes(), name


def _start(work, *args):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work)]
    cmd += [*args, "--configfile", str(TINY), "--cores", "1"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_a_killed_snakemake_and_a_second_run_meet_the_lock_then_the_rerun_matches(tiny_run, tmp_path):
    """A run is refused while another holds the directory; the master killed mid-run (with its jobs, as a
    closed terminal does) leaves its lock, `--unlock` clears it and the same command with
    `--rerun-incomplete` gives the uninterrupted run's files."""
    work = _copy(tiny_run, tmp_path)
    remade = [
        "results/generators/train300/wgan/generator.safetensors",
        *[f"results/synthetic/train300/wgan/shard-0000{i}.parquet" for i in range(2)],
    ]
    targets = ["results/synthetic/train300/wgan/manifest.json", "results/synthetic/train300/wgan/wds/manifest.json"]
    started = work / "results/logs/train_generator/train300/wgan.log"
    # the tar set and the shards' records go too: a file the first run removes while the second is still
    # planning would fail the second for that reason, before it reaches the lock this test is about
    tars = [f"results/synthetic/train300/wgan/wds/shard-0000{i}.tar{end}" for i in range(2) for end in ("", ".sha256")]
    records = [record_path(n) for n in remade[1:]]  # the shards' records too, for the same reason
    for name in [*remade, *records, *targets, *tars, started]:
        (work / name).unlink()
    first = _start(work, *targets)
    while not started.exists() and first.poll() is None:  # the first run ends, or its job starts
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[0][-3000:]
    # frozen while the second run plans, so that it cannot finish first (its remaining jobs take a second)
    os.killpg(first.pid, signal.SIGSTOP)
    second = snakemake(work, *targets, check=False)
    # refused: by the lock, or (when the first run is already writing a target the second one plans)
    # by that target's incomplete mark, which Snakemake checks before it locks
    refusal = second.stdout + second.stderr
    assert second.returncode != 0, refusal[-3000:]
    assert "Directory cannot be locked" in refusal or "--rerun-incomplete" in refusal, refusal[-3000:]
    assert first.poll() is None, "the first run ended before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)  # a stopped process takes SIGKILL as a running one does
    first.wait()
    # the killed run left its lock and the incomplete marks of the job it was running; either refuses
    again = snakemake(work, *targets, check=False)
    refusal = again.stdout + again.stderr
    assert again.returncode != 0, refusal[-3000:]
    assert "Directory cannot be locked" in refusal or "--rerun-incomplete" in refusal, refusal[-3000:]
    snakemake(work, "--unlock")
    snakemake(work, *targets, "--rerun-incomplete")
    for name in [*remade, *[record_path(n) for n in remade[1:]], *targets, *tars]:
        assert (work / name).read_bytes() == (tiny_run / name).read_bytes(), name
