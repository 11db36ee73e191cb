"""The workflow on a real SLURM cluster through `snakemake --profile slurm`, as the README documents.

`.ci/run` starts a single-node cluster first (tests/cluster/start_slurm.sh: Debian's slurm-wlm and
munge). Without one, every test here is skipped with the reason, never passed. There is no accounting
database, so the executor is told to query job states with squeue and to submit without an account,
and this cluster has no GPUs, so the rules' gpu=1 is overridden as the profile describes.
"""

import hashlib
import os
import signal
import subprocess
import time

import polars as pl
import pytest
import yaml
from snakemake_runs import ROOT, run_slurm, slurm_command, slurm_problem, snakemake

from synthval.io import sha256_file
from synthval.plan.paths import RESULTS, classifier_weights, log_path, report_html, selection_table

CLUSTER = ROOT / "tests" / "configs" / "cluster.yaml"
pytestmark = [pytest.mark.integration, pytest.mark.skipif(bool(problem := slurm_problem()), reason=problem or "")]


def test_every_stage_runs_through_the_profile(cluster_run):
    workdir, out = cluster_run
    assert f"Using profile {ROOT / 'slurm'}" in out or "Using profile slurm" in out
    submitted = [line for line in out.splitlines() if "has been submitted with SLURM jobid" in line]
    assert len(submitted) >= 15, out[-3000:]
    assert any("group_shard" in line for line in submitted)
    assert any("group_predict" in line for line in submitted)
    html = (workdir / report_html()).read_text()
    for section in (
        "Generators",
        "Synthetic-data quality",
        "Rank preservation",
        "Selection protocols",
        "Calibration",
        "Corollary 3.3",
    ):
        assert section in html
    protocols = pl.read_parquet(workdir / selection_table("train300", "protocols"))
    assert set(protocols["eval_set"]) == {"wgan", "augmented"}
    assert "standard protocol" in set(protocols["protocol"])
    rerun = run_slurm(workdir, "-n", config=CLUSTER)
    assert "Nothing to be done" in rerun.stdout + rerun.stderr


def _digests(workdir):
    """sha256 of every shard and weights file a run wrote."""
    results = workdir / RESULTS
    files = [
        *results.glob("data/*/*/shard-*.parquet"),
        *results.glob("synthetic/*/*/shard-*.parquet"),
        *results.glob("generators/*/*/generator.safetensors"),
        *results.glob("classifiers/*/*/epoch-*.safetensors"),
        *results.glob("reference/*/*.safetensors"),
    ]
    return {str(f.relative_to(results)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_the_local_tiny_run_wrote_identical_files(cluster_run, tiny_run):
    # determinism on CPU, across runs and executors: cluster.yaml is tiny.yaml cut down, so the files
    # both runs make (data, reference, the WGAN-GP and its shards, the mlp members) must be identical
    workdir, _ = cluster_run
    slurm, local = _digests(workdir), _digests(tiny_run)
    shared = slurm.keys() & local.keys()
    assert len(shared) >= 20
    assert any(k.startswith("synthetic/") for k in shared)
    assert any(k.startswith("classifiers/") for k in shared)
    assert {k: slurm[k] for k in shared} == {k: local[k] for k in shared}


def _running_job(rule, workflow):
    """The id of a running SLURM job whose comment names ``rule`` (the executor puts the rule there), once
    one runs; the workflow ending first fails the test."""
    while True:
        if workflow.poll() is not None:
            raise AssertionError(f"the workflow ended before a {rule} job ran:\n{workflow.stdout.read()[-3000:]}")
        listing = subprocess.run(["squeue", "-h", "-o", "%i %T %k"], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            job, state, comment = ([*line.split(maxsplit=2), "", ""])[:3]
            if state == "RUNNING" and rule in comment:
                return job
        time.sleep(0.2)


def test_a_cancelled_job_is_rerun_to_completion(tmp_path):
    config = yaml.safe_load(CLUSTER.read_text())
    config["zoo"]["epochs"] = 300  # a training job long enough (tens of seconds here) to be cancelled while it trains
    config["zoo"]["save_epochs"] = [300]
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    target = classifier_weights("train300", "mlp-base-s0", "300")
    state = (
        tmp_path / "run" / RESULTS / "resume" / "classifiers" / "train300" / "mlp-base" / "train" / "state.safetensors"
    )
    (tmp_path / "run").mkdir()
    workflow = subprocess.Popen(
        slurm_command(tmp_path / "run", path, target, "--retries", "0"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        job = _running_job("train_classifier", workflow)
        while not state.exists() and workflow.poll() is None:  # cancel it mid-training, after an epoch is saved
            time.sleep(0.05)
        subprocess.run(["scancel", job], check=True)
        out, _ = workflow.communicate()  # the job cancelled, the run ends
    finally:
        if workflow.poll() is None:
            workflow.send_signal(signal.SIGINT)
            workflow.wait(timeout=60)
    assert workflow.returncode != 0, out[-3000:]  # the cancelled job failed the workflow ...
    assert not (tmp_path / "run" / target).exists()
    run_slurm(tmp_path / "run", target, config=path)  # ... and a rerun completes it
    log = (tmp_path / "run" / log_path("train_classifier", "train300", "mlp-base")).read_text()
    assert "resumed after epoch" in log, log[-2000:]
    # the same weights as an uninterrupted local run (resumed from the last finished epoch, if any)
    snakemake(tmp_path / "local", target, config=path)
    assert sha256_file(tmp_path / "run" / target) == sha256_file(tmp_path / "local" / target), log[-2000:]


def test_a_job_over_two_ranks_runs_through_the_profile(tmp_path):
    # ranks: the job asks SLURM for one task with 2 cores (and gpus x 2 GPUs on a GPU cluster) and starts
    # its two ranks itself; on this node they form a gloo job
    config = yaml.safe_load(CLUSTER.read_text()) | {"ranks": {"train_reference": 2}}
    (tmp_path / "two-ranks.yaml").write_text(yaml.safe_dump(config))
    target = "results/reference/train300/classifier.safetensors"
    proc = run_slurm(tmp_path, target, config=tmp_path / "two-ranks.yaml")
    out = proc.stdout + proc.stderr
    assert "rule train_reference" in out, out[-3000:]
    assert "has been submitted with SLURM jobid" in out, out[-3000:]
    log = (tmp_path / log_path("train_reference", "train300")).read_text()
    assert "each over 2 ranks" in log, log
    assert (tmp_path / target).is_file()
