"""Classifier and generator training as one torch.distributed job (gloo on CPU, as NCCL on a node's GPUs):
two ranks train what one process trains with the same global batch, a killed two-rank run resumes to the
same weights, and a streamed split is read by each rank from its own shards."""

import uuid

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from synthval.classifiers import Guidance, TrainSettings, create_classifier, fit, trainer
from synthval.data import write_sharded
from synthval.data.stream import ShardStream
from synthval.io import load_tensors, save_tensors
from synthval.live import read_live_log
from synthval.runtime import setup

# Ranks start as forks of one server process that has imported torch and diffusers (multiprocessing's
# forkserver), not as fresh interpreters: each of this file's ~24 rank processes would otherwise import
# torch again (a few CPU-seconds each). Not the library: it imports polars, whose thread pool would not
# survive the fork (as in synthval.forkserver). What a rank runs is the same; the workflow's own jobs start
# fresh interpreters (test_the_workflow_trains_the_reference_and_a_generator_as_two_rank_jobs).
mp.set_forkserver_preload(["torch", "torch.distributed", "diffusers"])


def _start(fn, args, nprocs=2):
    mp.start_processes(fn, args, nprocs=nprocs, start_method="forkserver")


SETTINGS = {"epochs": 3, "save_epochs": [1, 3], "seed": 4, "batch_size": 16, "lr": 0.05}


class Killed(RuntimeError):
    pass


def _data():
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 3
    images = (labels[:, None, None, None] * 70 + rng.integers(0, 60, (60, 8, 8, 1))).astype(np.uint8)
    return images, labels


def _train(work, streamed=False, kill_after=None, guided=False, mixed=False):
    """One rank's (or the only process's) training: an MLP (no batch statistics, so the ranks' split of a
    batch changes nothing but the order of float sums)."""
    images, labels = _data()
    if streamed:
        images, labels = ShardStream(work.parent / "set" / "manifest.json", shuffle=True, buffer=16, seed=4), None
    if kill_after is not None:
        update = trainer.Progress.update

        def die(self, done, extra=""):
            update(self, done, extra)
            if done == kill_after:
                raise Killed

        trainer.Progress.update = die
    model = create_classifier("mlp", 3, 1, 8, seed=4, width=32)
    guidance = Guidance(guide=create_classifier("mlp", 3, 1, 8, seed=5, width=8)) if guided else None
    mix = {}
    if mixed:  # a streamed synthetic set (the real one, mirrored) in every batch: each rank cycles its own shards
        mix = {"synthetic": ShardStream(work.parent / "syn" / "manifest.json", shuffle=True, seed=4), "ratio": 1.0}
    return fit(model, images, labels, TrainSettings(**SETTINGS), work, guidance=guidance, **mix)


def _rank(rank, world, rendezvous, work, streamed, kill_after, guided, mixed):
    setup(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        _train(work, streamed, kill_after, guided, mixed)
    except Killed:
        pass
    finally:
        dist.destroy_process_group()


def _ranks(tmp_path, name, world=2, streamed=False, kill_after=None, guided=False, mixed=False):
    work = tmp_path / name
    # a rendezvous file of its own for every start: a killed run's file can outlive it, and ranks meeting at
    # it would try the killed ranks' addresses (Gloo: connection refused)
    rendezvous = tmp_path / f"{name}-{uuid.uuid4().hex}.rdv"
    _start(_rank, (world, rendezvous, work, streamed, kill_after, guided, mixed), nprocs=world)
    return work


def _weights(path):
    return load_tensors(path)[0]


def test_two_ranks_train_what_one_process_trains_with_the_same_global_batch(tmp_path):
    history, one = _train(tmp_path / "one")
    work = _ranks(tmp_path, "two")
    for epoch in (1, 3):
        a, b = _weights(one[epoch]), _weights(work / f"epoch-{epoch:03d}.safetensors")
        for k in a:  # the same steps; only the order of float sums differs
            torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-5)
    # the history is of the whole batch: the ranks' losses and counts summed
    two = read_live_log(work / "history.jsonl")
    assert [round(h["train_accuracy"], 6) for h in two] == [round(h["train_accuracy"], 6) for h in history]
    assert np.allclose([h["loss"] for h in two], [h["loss"] for h in history], atol=1e-5)


def test_a_killed_two_rank_run_resumes_to_the_uninterrupted_runs_weights(tmp_path):
    whole = _ranks(tmp_path, "whole")
    _ranks(tmp_path, "run", kill_after=2)
    assert not (tmp_path / "run" / "epoch-003.safetensors").exists()
    resumed = _ranks(tmp_path, "run")
    a, b = _weights(whole / "epoch-003.safetensors"), _weights(resumed / "epoch-003.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_each_rank_streams_its_own_shards_and_the_run_is_reproducible(tmp_path):
    """The real split and a synthetic set mixed into every batch, both streamed: each rank reads its own
    shards of each; the same config gives the same weights."""
    images, labels = _data()
    write_sharded(tmp_path / "set", [f"k{i:02d}" for i in range(60)], images, labels, 8, "unit")  # 8 shards
    write_sharded(tmp_path / "syn", [f"s{i:02d}" for i in range(60)], images[:, :, ::-1], labels, 8, "unit")
    first, second = (_ranks(tmp_path, name, streamed=True, mixed=True) for name in "ab")
    a, b = _weights(first / "epoch-003.safetensors"), _weights(second / "epoch-003.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_live_log(first / "history.jsonl")[-1]["train_accuracy"] > 0.5  # 3 classes: it learns
    stream = ShardStream(tmp_path / "set" / "manifest.json")
    # 8 shards of 8, 8, ..., 4 images over 2 ranks: each takes the 4 smallest shards' 28 images an epoch
    assert stream.for_rank(0, 2).fewest_per_rank() == 4 + 8 * 3 == 28
    assert sorted(stream.for_rank(0, 2).assigned() + stream.for_rank(1, 2).assigned()) == sorted(stream.assigned())


def test_what_one_process_only_does_is_refused_on_two_ranks(tmp_path):
    with pytest.raises(mp.ProcessRaisedException, match="Pretrained Guidance, Real Guidance and PGD training run"):
        _ranks(tmp_path, "guided", guided=True)


GENERATORS = {
    "ddpm": {"block_channels": [8, 8], "sampling_steps": 3, "ema_decay": 0.9},
    "wgan_gp": {"width": 4, "latent_dim": 8, "n_critic": 2},
}


def _train_generator(family, path, kill_after=None):
    """One rank's (or the only process's) generator training: 6 steps of 8 images, a state saved every 2."""
    from synthval.config import split_generator_settings
    from synthval.generators import create_generator, train_generator

    images, labels = _data()
    arch, settings = split_generator_settings(family, GENERATORS[family])
    torch.manual_seed(4)
    model = create_generator(family, 3, 1, 8, **arch)
    sizes = []  # the batch each forward pass of the network saw
    (model.unet if family == "ddpm" else model).register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    update = trainer.Progress.update
    if kill_after is not None:

        def die(self, done, extra=""):
            update(self, done, extra)
            if done == kill_after:
                raise Killed

        trainer.Progress.update = die
    try:
        record = train_generator(
            model, images, labels, batch_size=8, seed=4, resume_path=path, iterations=6, checkpoint_every=2, **settings
        )
    finally:
        trainer.Progress.update = update
    return model, record, sizes


def _generator_rank(rank, world, rendezvous, family, path, kill_after, out):
    setup(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        model, record, sizes = _train_generator(family, path, kill_after)
        assert set(sizes) == {8 // world}, sizes  # each rank trained on its share of every batch
        if rank == 0:
            save_tensors(out, dict(model.state_dict()), {"history": record["history"]})
    except Killed:
        pass
    finally:
        dist.destroy_process_group()


def _generator_ranks(tmp_path, family, name, kill_after=None):
    out = tmp_path / f"{name}.safetensors"
    rendezvous = tmp_path / f"{name}-{uuid.uuid4().hex}.rdv"  # its own, as in _ranks
    args = (2, rendezvous, family, tmp_path / f"{name}-state.safetensors", kill_after, out)
    _start(_generator_rank, args)
    return out


def test_two_ranks_train_the_generator_one_process_trains(tmp_path):
    """DDPM (group norm only): each rank keeps its rows of the batch and noise one process draws, the
    gradients are averaged before clipping, so the weights are one process's to float tolerance."""
    model, record, _ = _train_generator("ddpm", tmp_path / "one-state.safetensors")
    two, meta = load_tensors(_generator_ranks(tmp_path, "ddpm", "two"))
    for k, v in model.state_dict().items():
        torch.testing.assert_close(two[k], v, rtol=0, atol=1e-5)
    # the history is the ranks' mean loss, the whole batch's
    assert np.allclose([h["loss"] for h in meta["history"]], [h["loss"] for h in record["history"]], atol=1e-5)


def test_a_killed_two_rank_gan_resumes_to_the_uninterrupted_runs_weights(tmp_path):
    """WGAN-GP: a critic step's gradient penalty differentiates twice, which the rank's averaged backward
    pass takes; killed after step 3, the run resumes from rank 0's state of step 2."""
    whole = load_tensors(_generator_ranks(tmp_path, "wgan_gp", "whole"))[0]
    assert not _generator_ranks(tmp_path, "wgan_gp", "run", kill_after=3).exists()
    assert (tmp_path / "run-state.safetensors").is_file()
    resumed = load_tensors(_generator_ranks(tmp_path, "wgan_gp", "run"))[0]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.long
def test_the_workflow_trains_the_reference_and_a_generator_as_two_rank_jobs(tmp_path):
    # ranks per rule: the job starts its ranks itself (fresh interpreters, a file rendezvous) and asks for
    # as many cores. The generator's rank 0 scores its checkpoints with the reference classifier, from the
    # streamed split's features.
    import polars as pl
    import yaml
    from snakemake_runs import TINY, snakemake

    from synthval.generators import load_generator
    from synthval.io import read_metadata

    ranks = {"train_reference": 2, "train_generator": 2, "train_recipe": 2}
    config = yaml.safe_load(TINY.read_text()) | {"ranks": ranks}
    config["training"]["robust"]["enabled"] = False  # PGD training runs in one process
    # every split streamed from shards of 50 (each rank reads its own; a generator's ranks read the whole
    # batch), the synthetic training set in 2 shards per 1x: a streamed set needs a shard per rank
    config["data"] |= {"stream": "always", "shard_size": 50}
    config["training"]["shards_per_x"] = 2
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    generator = "results/generators/train300/wgan/generator.safetensors"
    mixed = "results/training/train300/augmentation-wgan/s0/predictions.parquet"  # a study run, real + synthetic
    snakemake(tmp_path, "results/reference/train300/history.parquet", generator, mixed, config=tmp_path / "config.yaml")
    log = (tmp_path / "results/logs/train_reference/train300.log").read_text()
    assert "each over 2 ranks" in log, log
    generator_log = (tmp_path / "results/logs/train_generator/train300/wgan.log").read_text()
    assert "training over 2 ranks" in generator_log, generator_log
    assert "streamed from its shards" in generator_log, generator_log
    record = read_metadata(tmp_path / generator)["record"]
    assert [s["step"] for s in record["scores"]] == [3, 6], record  # scored by rank 0, once each
    load_generator(tmp_path / generator)
    assert "over 2 ranks" in (tmp_path / "results/logs/train_recipe/train300/augmentation-wgan/s0.log").read_text()
    predictions = pl.read_parquet(tmp_path / mixed)  # scored in the job's own process after its ranks trained
    assert set(predictions["eval_set"]) >= {"test"}
    assert len(predictions) > 0
    # guided runs train in one process whatever ranks says: the plan gives them 1 rank
    guided = "results/training/train300/real_guidance-wgan/s0/predictions.parquet"
    other = "results/training/train300/augmentation-wgan/s1/predictions.parquet"
    dry = snakemake(tmp_path, "-n", guided, other, config=tmp_path / "config.yaml").stdout
    jobs = {block.split("wildcards: ")[1].split("\n")[0]: block for block in dry.split("rule train_recipe:")[1:]}
    plans = {w.split("run=")[1].split(",")[0]: ("threads: 2" in b, "gpu=2" in b) for w, b in jobs.items()}
    assert plans == {"real_guidance-wgan": (False, False), "augmentation-wgan": (True, True)}, dry[-3000:]
    history = pl.read_parquet(tmp_path / "results/reference/train300/history.parquet")
    assert history["epoch"].to_list() == list(range(1, config["reference"]["epochs"] + 1))
    assert (tmp_path / "results/reference/train300/classifier.safetensors").is_file()


@pytest.mark.long
def test_the_gpu_check_runs_its_paths_on_the_cpu(tmp_path):
    # bench/gpu_check.sh is run on a lent GPU; here (--cpu) every path runs on the CPU at small sizes, so the
    # script is known to work before that day, and each path agrees with itself; on one thread, as every test
    # (two threads beside the other worker's test would wait on each other's share of the cores)
    from pathlib import Path

    from snakemake_runs import run_watched

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "gpu_check.md"
    proc = run_watched(["bash", str(root / "bench" / "gpu_check.sh"), "--cpu", "--threads", "1", "--out", str(out)])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = out.read_text()
    for path in ("predict", "fit", "fit_batched", "ddp (1 rank)", "ddpm sample", "features + FID"):
        assert f"| {path}" in table, table
    assert "| NO |" not in table
