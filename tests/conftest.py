import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from snakemake_runs import SharedRuns

from synthval.runtime import setup


@pytest.fixture(autouse=True)
def _one_thread():
    setup(1)
    torch.manual_seed(0)


@pytest.fixture
def tiny_images():
    """40 random 8x8 grey images of 4 classes."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8), np.arange(40, dtype=np.int64) % 4


@pytest.fixture(scope="session")
def sd_pipeline(tmp_path_factory):
    """A tiny randomly initialised Stable Diffusion folder (32 px), built offline."""
    from synthval.generators.stable_diffusion import save_tiny_pipeline

    return save_tiny_pipeline(tmp_path_factory.mktemp("sd") / "pipeline")


SHARED = {*SharedRuns.LOCAL, *SharedRuns.SLURM}


def _fixtures(item):
    return set(getattr(item, "fixturenames", ()))


def _group(item):
    """The group of a test that reads a shared run, for pytest-xdist: the tests of one run go to one worker,
    in order (some change the tiny run and put it back; none may see another's change half done)."""
    names = _fixtures(item)
    if "tiny_run" in names:
        return "tiny_run"
    if "sd_run" in names:
        return "sd_run"
    return "slurm" if names & set(SharedRuns.SLURM) else None


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups marked here
def pytest_collection_modifyitems(config, items):
    """The tests that read a shared run go last, in their own order, so that every other test runs while the
    shared runs (started before the first test) are still going; under pytest-xdist (``-n 2
    --no-loadscope-reorder``, as ``make test`` runs) each run's tests form one group, run in this order by
    one worker (pytest_xdist_make_scheduler)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: bool(SHARED & _fixtures(item)))
        return
    # Under xdist the tiny run's tests come first: the worker that takes them waits for the run (the CPU is
    # the background runs' meanwhile) and then works through them while the other worker takes the unit tests.
    # The Stable Diffusion and SLURM runs' tests come last, when those runs are done.
    # (A tiny run test that also reads a SLURM run goes last of its group, not to wait for that run first.)
    # Of the other tests the long ones go first: one of them started last would keep one worker busy while
    # the other has nothing left to do.
    order = {"tiny_run": 0, None: 1, "sd_run": 2, "slurm": 3}
    slurm = set(SharedRuns.SLURM)
    items.sort(
        key=lambda item: (
            order[_group(item)],
            bool(slurm & _fixtures(item)),
            _group(item) is None and item.get_closest_marker("long") is None,
        )
    )
    groups = {item.nodeid: group for item in items if (group := _group(item))}
    # for the controller's scheduler (pytest_xdist_make_scheduler), which does not collect: every worker
    # collects the same tests and writes the same file, before it reports its collection
    folder = config._tmp_path_factory.getbasetemp().parent
    partial = folder / f"{GROUPS}.{os.environ['PYTEST_XDIST_WORKER']}"
    partial.write_text(json.dumps(groups))
    partial.replace(folder / GROUPS)


GROUPS = "shared-run-groups.json"


@pytest.hookimpl(optionalhook=True)  # without xdist (-p no:xdist) there is no such hook
def pytest_xdist_make_scheduler(config, log):
    """Load scheduling in the collection's order, but each shared run's tests as one unit of work, so that
    one worker runs them in order. (xdist's own ``--dist loadgroup`` renames the tests to group them, which
    this pytest's node ids no longer allow.)"""
    from xdist.scheduler import LoadScopeScheduling

    groups_file = config._tmp_path_factory.getbasetemp() / GROUPS

    class SharedRunGroups(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid):
            if self.groups is None:
                self.groups = json.loads(groups_file.read_text())
            return self.groups.get(nodeid, nodeid)

    return SharedRunGroups(config, log)


@pytest.fixture(scope="session", autouse=True)
def shared_runs(request, tmp_path_factory):
    """The runs several tests read, started before the first test so that they run beside the unit tests
    (tests/snakemake_runs.py, SharedRuns); under pytest-xdist, once for all workers."""
    shared = None
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "shared-runs"
        shared.mkdir(exist_ok=True)
    runs = SharedRuns(shared)
    fixtures = set().union(*(_fixtures(item) for item in request.session.items))
    runs.start_needed(fixtures, tmp_path_factory.mktemp)
    yield runs
    runs.finish()


@pytest.fixture(scope="session")
def tiny_run(shared_runs):
    """One local end-to-end run of the tiny config, shared by the workflow tests and the cluster
    test's determinism check."""
    if reuse := os.environ.get("SYNTHVAL_TINY_RUN"):  # a finished run of this code's tiny config, kept between
        return Path(reuse)  # pytest sessions while working on the tests that only read it (or copy it)
    return shared_runs.wait("tiny_run")[0]


@pytest.fixture(scope="session")
def sd_run(shared_runs):
    """tests/configs/sd.yaml, the Stable Diffusion family and imported samples and classifiers, run locally."""
    return shared_runs.wait("sd_run")[0]


@pytest.fixture(scope="session")
def cluster_run(shared_runs):
    """tests/configs/cluster.yaml through `snakemake --profile slurm` (tests/test_cluster.py): its folder
    and output."""
    return shared_runs.wait("cluster_run")


@pytest.fixture(scope="session")
def cancelled_run(shared_runs):
    """A zoo job cancelled on SLURM mid-training, rerun, and run locally uninterrupted (cancelled_job_scenario)."""
    return shared_runs.wait("cancelled_run")


@pytest.fixture(scope="session")
def two_rank_run(shared_runs):
    """The reference classifier as one two-rank SLURM job (two_ranks_scenario)."""
    return shared_runs.wait("two_rank_run")
