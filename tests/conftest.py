import os
from pathlib import Path

import numpy as np
import pytest
import torch
from snakemake_runs import snakemake

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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One local end-to-end run of the tiny config, shared by the workflow tests and the cluster
    test's determinism check."""
    if reuse := os.environ.get("SYNTHVAL_TINY_RUN"):  # a finished run of this code's tiny config, kept between
        return Path(reuse)  # pytest sessions while working on the tests that only read it (or copy it)
    workdir = tmp_path_factory.mktemp("tiny")
    snakemake(workdir)
    return workdir
