"""The workflow on a real SLURM cluster through `snakemake --profile slurm`, as the README documents.

`.ci/run` starts a single-node cluster first (tests/cluster/start_slurm.sh: Debian's slurm-wlm and
munge). Without one, every test here is skipped with the reason, never passed. There is no accounting
database, so the executor is told to query job states with squeue and to submit without an account,
and this cluster has no GPUs, so the rules' gpu=1 is overridden as the profile describes.
"""

import hashlib
from pathlib import Path

import polars as pl
import pytest
from snakemake_runs import CLUSTER, ROOT, run_slurm, slurm_problem

from synthval.io import sha256_file
from synthval.plan.paths import RESULTS, log_path, report_html, selection_table

pytestmark = [pytest.mark.integration, pytest.mark.skipif(bool(problem := slurm_problem()), reason=problem or "")]


def test_every_stage_runs_through_the_profile(cluster_run):
    workdir, out = cluster_run
    assert f"Using profile {ROOT / 'slurm'}" in out or "Using profile slurm" in out
    submitted = [line for line in out.splitlines() if "has been submitted with SLURM jobid" in line]
    assert len(submitted) >= 15, out[-3000:]
    assert any("group_shard" in line for line in submitted)
    assert any("group_predict" in line for line in submitted)
    assert any("group_selection" in line for line in submitted)  # ranking, selection and figures: one job
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


def test_a_cancelled_job_is_rerun_to_completion(cancelled_run):
    out = cancelled_run["cancelled"].stdout + cancelled_run["cancelled"].stderr
    assert cancelled_run["cancelled"].returncode != 0, out[-3000:]  # the cancelled job failed the workflow ...
    assert not cancelled_run["left"]
    assert cancelled_run["rerun"].returncode == 0  # ... and a rerun completed it
    run, target = cancelled_run["path"].parent / "run", cancelled_run["target"]
    log = (run / log_path("train_classifier", "train300", "mlp-base")).read_text()
    assert "resumed after epoch" in log, log[-2000:]
    # the same weights as an uninterrupted local run (resumed from the last finished epoch, if any)
    local = cancelled_run["path"].parent / "local"
    assert sha256_file(run / target) == sha256_file(local / target), log[-2000:]


def test_a_job_over_two_ranks_runs_through_the_profile(two_rank_run):
    proc, target = two_rank_run
    out = proc.stdout + proc.stderr
    assert "rule train_reference" in out, out[-3000:]
    assert "has been submitted with SLURM jobid" in out, out[-3000:]
    workdir = Path(proc.args[proc.args.index("--directory") + 1])
    log = (workdir / log_path("train_reference", "train300")).read_text()
    assert "each over 2 ranks" in log, log
    assert (workdir / target).is_file()
