"""Damaged artifacts are refused with a message naming the file, file by file: shards (Parquet page
checksums, PNG and tar decoding, the producer's record), sealed manifests, weights, tables; a full disk
leaves no partial output; a job's uncaught error lands in its own log with one line saying what failed."""

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from synthval import io
from synthval.checkpoint import ResumeState
from synthval.data import read_image_set, read_manifest, read_shard, write_manifest, write_shard, write_sharded
from synthval.data.webdataset import write_tar_shard
from synthval.io import (
    IntegrityError,
    check_record,
    load_tensors,
    read_frame,
    read_metadata,
    save_tensors,
    write_frame,
)
from synthval.runtime import failure_summary


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_changed_shard_is_refused_against_its_producers_record(tmp_path, tiny_images):
    images, labels = tiny_images
    shard = tmp_path / "shard-00000.parquet"
    write_shard(shard, [f"k{i}" for i in range(40)], images, labels, source="synthetic", record=True)
    assert (tmp_path / "shard-00000.parquet.sha256").read_text() == f"{io.sha256_file(shard)}  shard-00000.parquet\n"
    digest = check_record(shard)
    _flip(shard, 4)  # the first byte of the first page: the file still reads, but it is not what was written
    with pytest.raises(IntegrityError, match=r"shard-00000\.parquet was changed after the job that wrote it"):
        check_record(shard)
    with pytest.raises(IntegrityError, match="changed after"):
        read_shard(shard, recorded=True)
    _flip(shard, 4)
    assert check_record(shard) == digest
    (tmp_path / "shard-00000.parquet.sha256").unlink()
    with pytest.raises(IntegrityError, match=r"shard-00000\.parquet: the record of what its producer wrote"):
        check_record(shard)


@pytest.mark.long
def test_no_flipped_byte_changes_what_a_shard_reads_silently(tmp_path, tiny_images):
    """Every byte of a shard flipped in turn. Its pages are covered by their checksums: a flip there is
    refused by any read, or reads exactly the images, keys and labels written (a page statistic no
    reader uses). A flip in the footer can change what is read (a row count, a column's type) without
    any checksum noticing, which is why no job reads a shard on its own: through its manifest (the
    sha256 of the whole file) or its producer's record, every flip is refused, naming the shard."""
    images, labels = tiny_images
    keys = [f"k{i}" for i in range(10)]
    manifest = write_sharded(tmp_path, keys, images[:10], labels[:10], shard_size=10, source="unit")
    shard = tmp_path / manifest["shards"][0]["path"]
    io.write_record(shard)
    clean = shard.read_bytes()
    footer = len(clean) - 8 - int.from_bytes(clean[-8:-4], "little")
    refused = 0
    for at in range(len(clean)):
        data = bytearray(clean)
        data[at] ^= 0x10
        shard.write_bytes(bytes(data))
        for read in (lambda: read_image_set(tmp_path / "manifest.json"), lambda: read_shard(shard, recorded=True)):
            with pytest.raises(IntegrityError, match=r"shard-00000\.parquet"):
                read()
        if at >= footer:
            continue
        try:
            back = read_shard(shard)
        except IntegrityError as err:
            assert "shard-00000.parquet" in str(err)  # noqa: PT017 - most of the flipped bytes raise, a few do not
            refused += 1
            continue
        assert back.keys == keys, f"byte {at}"
        np.testing.assert_array_equal(back.images, images[:10], err_msg=f"byte {at}")
        np.testing.assert_array_equal(back.labels, labels[:10], err_msg=f"byte {at}")
    assert refused > footer / 2, (refused, footer)


def test_an_image_that_does_not_decode_names_its_shard_and_key(tmp_path, tiny_images):
    images, labels = tiny_images
    write_shard(tmp_path / "s.parquet", ["a", "b"], images[:2], labels[:2], source="unit")
    table = pq.read_table(tmp_path / "s.parquet")
    broken = table.column("image").to_pylist()
    broken[1]["bytes"] = broken[1]["bytes"][:30]  # a PNG cut short, inside a file whose checksums hold
    table = table.set_column(1, "image", pa.array(broken, table.schema.field("image").type))
    pq.write_table(table, tmp_path / "s.parquet", write_page_checksum=True)
    with pytest.raises(IntegrityError, match=r"shard .*s\.parquet, image b does not decode"):
        read_shard(tmp_path / "s.parquet")

    keys = ["t0", "t1"]
    write_tar_shard(tmp_path / "a.tar", keys, images[:2], labels[:2], {}, record=True)
    data = bytearray((tmp_path / "a.tar").read_bytes())
    label = data.index(b"t1.cls") + 512  # the label's bytes follow the member's 512-byte header
    data[label] = ord("x")
    (tmp_path / "a.tar").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"a\.tar, sample t1: label is not an integer"):
        read_shard(tmp_path / "a.tar")
    with pytest.raises(IntegrityError, match=r"a\.tar was changed after"):
        read_shard(tmp_path / "a.tar", recorded=True)


def test_manifests_are_sealed(tmp_path, tiny_images):
    images, labels = tiny_images
    write_sharded(tmp_path, [f"k{i}" for i in range(40)], images, labels, 20, source="unit", class_names=list("abcd"))
    manifest = tmp_path / "manifest.json"
    assert read_manifest(manifest)["class_names"] == list("abcd")
    text = manifest.read_text()
    manifest.write_text(text.replace('"b"', '"x"'))  # valid JSON, a class renamed
    with pytest.raises(IntegrityError, match=r"manifest\.json was changed after it was written"):
        read_image_set(manifest)
    manifest.write_text(text[: len(text) // 2])
    with pytest.raises(IntegrityError, match=r"manifest\.json is not valid JSON"):
        read_image_set(manifest)
    manifest.write_text(json.dumps({k: v for k, v in json.loads(text).items() if k != io.SEAL}))
    with pytest.raises(IntegrityError, match="carries no content_sha256"):
        read_manifest(manifest)
    # a manifest written from digests already checked does not hash the shards again
    shards = sorted(tmp_path.glob("shard-*.parquet"))
    written = write_manifest(tmp_path / "again.json", shards, ["0" * 64, "1" * 64])
    assert [s["sha256"] for s in written["shards"]] == ["0" * 64, "1" * 64]


def test_weights_carry_their_own_checksum(tmp_path):
    path = tmp_path / "w.safetensors"
    tensors = {"w": torch.randn(16, 8), "b": torch.zeros(8, dtype=torch.bfloat16), "step": torch.tensor(3)}
    save_tensors(path, tensors, {"epoch": 2})
    back, meta = load_tensors(path)
    assert meta == {"epoch": 2}
    assert all(torch.equal(back[k], tensors[k]) for k in tensors)
    clean = path.read_bytes()
    header = 8 + int.from_bytes(clean[:8], "little")
    for at in (len(clean) - 5, clean.index(b'epoch\\": 2') + 9):
        _flip(path, at)  # a weight's bit, then the epoch in the metadata (2 -> 3): both load without the check
        with pytest.raises(IntegrityError, match=r"w\.safetensors was changed after it was written"):
            load_tensors(path)
        with pytest.raises(IntegrityError, match=r"w\.safetensors was changed after it was written"):
            read_metadata(path)  # the report reads a generator's history from here: checked too, without torch
        path.write_bytes(clean)
    path.write_bytes(clean[: header + 10])
    with pytest.raises(IntegrityError, match=r"w\.safetensors was changed after it was written"):
        load_tensors(path)
    path.write_bytes(clean[:100])
    with pytest.raises(IntegrityError, match=r"w\.safetensors is not a valid safetensors file"):
        load_tensors(path)
    from safetensors.torch import save_file  # weights from elsewhere carry no checksum and load as they are

    save_file({"w": tensors["w"]}, str(tmp_path / "theirs.safetensors"))
    assert torch.equal(load_tensors(tmp_path / "theirs.safetensors")[0]["w"], tensors["w"])


def test_damaged_resume_state_is_set_aside_with_its_name(tmp_path, caplog):
    state = ResumeState(tmp_path / "g.safetensors", {"lr": 0.1})
    state.save({"step": 2, "w": torch.randn(4, 4)})
    assert state.load()["step"] == 2
    _flip(state.path, state.path.stat().st_size - 3)
    with caplog.at_level("WARNING"):
        assert state.load() is None  # the job starts afresh rather than resuming from damaged state
    assert "g.safetensors" in caplog.text
    assert "changed after it was written" in caplog.text


def test_tables_verify_their_pages(tmp_path):
    path = tmp_path / "predictions.parquet"
    frame = pl.DataFrame({"model": ["a"] * 200, "error": np.linspace(0, 1, 200), "epoch": list(range(200))})
    write_frame(path, frame)
    assert read_frame(path).equals(frame)
    # nulls in every kind of column survive the round trip (what lies under a null is not content)
    holes = pl.DataFrame(
        {
            "s": ["x", None, "yz"],
            "f": [1.5, None, float("nan")],
            "i": [None, 2, 3],
            "b": [True, None, False],
            "l": [[1], None, [2, 3]],
            "n": [None, None, None],
        }
    )
    write_frame(tmp_path / "holes.parquet", holes)
    assert read_frame(tmp_path / "holes.parquet").equals(holes, null_equal=True)
    clean = path.read_bytes()
    refused = 0
    for at in range(4, len(clean) - 8, 3):
        data = bytearray(clean)
        data[at] ^= 0x04
        path.write_bytes(bytes(data))
        try:
            back = read_frame(path)
        except IntegrityError as err:
            assert "predictions.parquet" in str(err)  # noqa: PT017 - most of the flipped bytes raise, a few do not
            refused += 1
            continue
        assert back.equals(frame), f"byte {at} changed the table silently"
    assert refused > 0
    path.write_bytes(clean[:-20])
    with pytest.raises(IntegrityError, match=r"predictions\.parquet cannot be read"):
        read_frame(path)


WRITERS = {
    "json": lambda p: io.write_json(p, {"a": 1}, seal=True),
    "table": lambda p: write_frame(p, pl.DataFrame({"x": [1, 2]})),
    "weights": lambda p: save_tensors(p, {"w": torch.ones(3)}),
    "shard": lambda p: write_shard(p, ["k"], np.zeros((1, 4, 4, 1), np.uint8), np.zeros(1), source="unit"),
    "tar": lambda p: write_tar_shard(p, ["k"], np.zeros((1, 4, 4, 1), np.uint8), np.zeros(1), {}),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_full_disk_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch, kind):
    """ENOSPC when the written bytes are flushed (where a full disk shows itself to a writer that
    buffers): the error reaches the job, the previous version of the file is untouched, and no
    temporary file is left."""
    path = tmp_path / f"out.{kind}"
    path.write_bytes(b"the previous run's file")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.os, "fsync", full)
    with pytest.raises(OSError, match="No space left on device") as err:
        WRITERS[kind](path)
    assert err.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"the previous run's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount rights, as CI has; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_really_full_disk_leaves_no_partial_output(small_disk, kind):
    path = small_disk / f"out.{kind}"
    (small_disk / "filler").write_bytes(b"\0" * (256 * 1024 - 8192))  # leave less room than a shard needs
    big = {
        "json": lambda p: io.write_json(p, {"a": "x" * 100_000}),
        "table": lambda p: write_frame(p, pl.DataFrame({"x": np.random.default_rng(0).random(50_000)})),
        "weights": lambda p: save_tensors(p, {"w": torch.randn(50_000)}),
        "shard": lambda p: write_shard(
            p, ["k"], np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), np.uint8), np.zeros(1), "unit"
        ),
        "tar": lambda p: write_tar_shard(
            p, ["k"], np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), np.uint8), np.zeros(1), {}
        ),
    }
    with pytest.raises(OSError, match="No space left"):
        big[kind](path)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_an_uncaught_error_lands_in_the_jobs_log_with_one_line_saying_what(tmp_path):
    log = tmp_path / "job.log"
    script = textwrap.dedent(
        f"""
        from synthval.io import IntegrityError
        from synthval.runtime import setup
        log = setup(1, log_file={str(log)!r})
        log.info("working")
        raise IntegrityError("shard results/x/shard-00000.parquet was changed after the job that wrote it finished")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 1
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "working" in text
    last = text.strip().splitlines()[-1]
    assert last.endswith(
        "FAILED IntegrityError: shard results/x/shard-00000.parquet was changed after the job that wrote it finished"
    )
    assert last.split(": ", 1)[1] in proc.stderr  # the terminal (locally) or the SLURM log gets it too
    assert proc.stderr.count("Traceback") == 1  # once, not twice


def test_the_failure_summary_reads_each_failed_jobs_log(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("2026 synthval: working\n2026 synthval: FAILED ValueError: bad x\n")
    (tmp_path / "logs" / "b.log").write_text("Traceback ...\nKeyError: 'zoo'\n")
    snakemake_log = tmp_path / "run.log"
    snakemake_log.write_text(
        textwrap.dedent(
            """\
            Error in rule index_synthetic:
                message: None
                jobid: 11
                input: results/synthetic/s.parquet
                log: logs/a.log (check log file(s) for error details)
                wildcards: trainset=train300, generator=wgan
            Error in rule predict:
                message: SLURM-job '42' failed, SLURM status is: 'FAILED'.
                jobid: 12
                log: logs/b.log, .snakemake/slurm_logs/rule_predict/42.log (check log file(s) for error details)
            Error in rule lost:
                jobid: 13
            [Tue Dec  1 14:11:53 2026]
                message: Error in group shard
                log: /w/slurm_logs/group_shard/339.log (check log file(s) for error details)
                jobs:
                    rule convert_webdataset:
                        jobid: 8
                        log: logs/a.log (check log file(s) for error details)
                [Tue Dec  1 14:11:53 2026]
                Error in rule convert_webdataset:
                    message: None
                    jobid: 8
                    log: logs/a.log (check log file(s) for error details)
            Exiting because a job execution failed. Look above for error messages
            """
        )
    )
    assert failure_summary(snakemake_log, tmp_path) == [
        "index_synthetic (trainset=train300, generator=wgan): ValueError: bad x [log: logs/a.log]",
        "predict: KeyError: 'zoo' [log: logs/b.log, .snakemake/slurm_logs/rule_predict/42.log]",
        "lost: no message in its log",
        "convert_webdataset: ValueError: bad x [log: logs/a.log, /w/slurm_logs/group_shard/339.log]",
    ]
