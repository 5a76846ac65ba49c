"""Checkpoints against a real runtime: byte-exact round trips at the sizes where
messages (1 MiB) and chunks (8 MiB) split, streaming to and from files with
bounded reads and writes, latest versus by id, listing, deletion, idempotency."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

import pulse._checkpoint_load
from pulse import MESSAGE_BYTES, Runtime

MIB = 1024 * 1024
CHECKPOINT_ID = re.compile(r"chk_[0-9A-HJKMNP-TV-Z]{26}")


def pattern_bytes(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every position a split could shift (not a repeated block)."""
    return hashlib.shake_256(f"pulse-{seed}".encode()).digest(size) if size else b""


class ReadSpy(io.RawIOBase):
    """A binary file that records the size of every read asked of it."""

    def __init__(self, inner: io.BufferedReader) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        self.sizes.append(size)
        return self.inner.read(size)


class WriteSpy(io.RawIOBase):
    """A binary file that records the size of every write and hashes what it gets."""

    def __init__(self, inner: io.BufferedWriter) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sizes.append(len(data))
        return self.inner.write(data)


@pytest.mark.parametrize(
    "size",
    [0, 1, 8 * MIB, 8 * MIB + 1],
    ids=["0 bytes", "1 byte", "8 MiB", "8 MiB + 1"],
)
def test_save_then_load_returns_the_same_bytes(rt: Runtime, worker_id: str, size: int) -> None:
    data = pattern_bytes(size, seed=size)
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=data)
    assert CHECKPOINT_ID.fullmatch(checkpoint_id)

    checkpoint = rt.get_checkpoint(worker_id, checkpoint_id)
    assert checkpoint.size_bytes == size
    assert checkpoint.sha256 == hashlib.sha256(data).hexdigest()
    loaded = rt.load_checkpoint(worker_id, checkpoint_id)
    assert len(loaded) == size
    assert loaded == data


def test_save_accepts_bytearray_and_memoryview(rt: Runtime, worker_id: str) -> None:
    data = pattern_bytes(MIB + 3, seed=7)
    from_bytearray = rt.save_checkpoint(worker_id=worker_id, data=bytearray(data))
    from_view = rt.save_checkpoint(worker_id=worker_id, data=memoryview(data)[1:])
    assert rt.load_checkpoint(worker_id, from_bytearray) == data
    assert rt.load_checkpoint(worker_id, from_view) == data[1:]


def test_a_20_mib_file_streams_both_ways_in_pieces_of_at_most_1_mib(
    rt: Runtime, worker_id: str, tmp_path: Path
) -> None:
    """The file is read in 1 MiB reads (never read whole) and loaded back in
    writes of at most 1 MiB, byte for byte the same."""
    data = pattern_bytes(20 * MIB, seed=20)
    source = tmp_path / "state.bin"
    source.write_bytes(data)

    with source.open("rb") as file:
        spy = ReadSpy(file)
        checkpoint_id = rt.save_checkpoint_stream(worker_id, spy, metadata={"file": "state.bin"})
    assert spy.sizes and set(spy.sizes) == {MESSAGE_BYTES}
    assert len(spy.sizes) == 21  # 20 pieces, then the read that finds the end

    target = tmp_path / "loaded.bin"
    with target.open("wb") as file:
        writes = WriteSpy(file)
        checkpoint = rt.load_checkpoint_to(worker_id, writes, checkpoint_id)
    assert max(writes.sizes) <= MESSAGE_BYTES
    assert sum(writes.sizes) == len(data)
    assert checkpoint.checkpoint_id == checkpoint_id
    assert checkpoint.size_bytes == len(data)
    assert checkpoint.sha256 == hashlib.sha256(data).hexdigest()
    assert checkpoint.metadata == {"file": "state.bin"}
    assert target.read_bytes() == data


def test_stream_save_reads_from_the_current_position(rt: Runtime, worker_id: str) -> None:
    file = io.BytesIO(b"header:payload")
    file.seek(len(b"header:"))
    checkpoint_id = rt.save_checkpoint_stream(worker_id, file)
    assert rt.load_checkpoint(worker_id, checkpoint_id) == b"payload"


def test_load_without_id_returns_the_latest_and_with_id_that_one(rt: Runtime, worker_id: str) -> None:
    first = rt.save_checkpoint(worker_id=worker_id, data=b"first")
    second = rt.save_checkpoint(worker_id=worker_id, data=b"second")
    assert first != second

    assert rt.load_checkpoint(worker_id) == b"second"
    assert rt.load_checkpoint(worker_id, first) == b"first"
    assert rt.load_checkpoint(worker_id, second) == b"second"
    assert rt.get_checkpoint(worker_id).checkpoint_id == second
    assert rt.get_checkpoint(worker_id, first).checkpoint_id == first
    latest = io.BytesIO()
    assert rt.load_checkpoint_to(worker_id, latest).checkpoint_id == second
    assert latest.getvalue() == b"second"


def test_list_returns_every_checkpoint_newest_first_across_pages(rt: Runtime, worker_id: str) -> None:
    saved = [rt.save_checkpoint(worker_id=worker_id, data=f"state {n}".encode()) for n in range(5)]
    newest_first = list(reversed(saved))
    assert saved == sorted(saved)  # ULIDs sort by time

    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == newest_first
    # Two items a page: the iterator must follow three page tokens to get all five.
    paged = list(rt.list_checkpoints(worker_id, page_size=2))
    assert [c.checkpoint_id for c in paged] == newest_first
    assert all(c.worker_id == worker_id for c in paged)
    assert [c.size_bytes for c in paged] == [len(b"state 4")] * 5


def test_list_of_a_worker_without_checkpoints_is_empty(rt: Runtime, worker_id: str) -> None:
    assert list(rt.list_checkpoints(worker_id)) == []


def test_metadata_round_trips_as_json(rt: Runtime, worker_id: str) -> None:
    metadata = {
        "epoch": 10,
        "loss": 0.001,
        "step": -3,
        "big": 2**53,
        "name": "résumé ✓",
        "flags": [True, False, None],
        "nested": {"layers": [1, 2.5, "x"], "empty": {}, "none": []},
        "tuple": (1, 2),
    }
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=b"x", metadata=metadata)
    checkpoint = rt.get_checkpoint(worker_id, checkpoint_id)
    assert checkpoint.metadata == {**metadata, "tuple": [1, 2]}
    assert isinstance(checkpoint.metadata["epoch"], int)
    assert isinstance(checkpoint.metadata["loss"], float)


def test_the_same_idempotency_key_returns_the_same_checkpoint(rt: Runtime, worker_id: str) -> None:
    key = "step-1000"
    first = rt.save_checkpoint(worker_id=worker_id, data=b"state", idempotency_key=key)
    again = rt.save_checkpoint(worker_id=worker_id, data=b"state", idempotency_key=key)
    streamed = rt.save_checkpoint_stream(worker_id, io.BytesIO(b"other bytes"), idempotency_key=key)
    assert again == first
    assert streamed == first
    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == [first]
    assert rt.get_checkpoint(worker_id, first).idempotency_key == key
    assert rt.load_checkpoint(worker_id) == b"state"


def test_saves_without_a_key_get_a_fresh_key_each(rt: Runtime, worker_id: str) -> None:
    first = rt.save_checkpoint(worker_id=worker_id, data=b"same")
    second = rt.save_checkpoint(worker_id=worker_id, data=b"same")
    assert first != second
    keys = {c.idempotency_key for c in rt.list_checkpoints(worker_id)}
    assert len(keys) == 2
    assert all(re.fullmatch(r"[0-9a-f-]{36}", key) for key in keys)


def test_delete_removes_the_checkpoint(rt: Runtime, worker_id: str) -> None:
    kept = rt.save_checkpoint(worker_id=worker_id, data=b"kept")
    deleted = rt.save_checkpoint(worker_id=worker_id, data=b"deleted")
    rt.delete_checkpoint(worker_id, deleted)

    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == [kept]
    assert rt.load_checkpoint(worker_id) == b"kept"


def test_a_large_checkpoint_loads_into_memory(rt: Runtime, worker_id: str) -> None:
    data = os.urandom(3 * MIB + 5)
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=data)
    assert rt.load_checkpoint(worker_id, checkpoint_id) == data


def test_a_load_is_a_series_of_windows_that_add_up_to_the_checkpoint(
    rt: Runtime, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 3 MiB + 1 windows (aligned to neither messages nor chunks), 20 MiB
    load in 7 LoadCheckpoint calls, each from where the previous one ended, all
    of the checkpoint that GetCheckpoint named as the latest."""
    window = 3 * MIB + 1
    monkeypatch.setattr(pulse._checkpoint_load, "LOAD_WINDOW_BYTES", window)
    data = pattern_bytes(20 * MIB, seed=21)
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=data)
    real_get, real_load = rt._channel.stubs[0].GetCheckpoint, rt._channel.stubs[0].LoadCheckpoint
    requests: list[tuple[str, str, int, int]] = []

    def recorded_get(request: Any, *args: Any, **kwargs: Any) -> Any:
        requests.append(("get", request.checkpoint_id, request.include_chunks, 0))
        return real_get(request, *args, **kwargs)

    def recorded_load(request: Any, *args: Any, **kwargs: Any) -> Any:
        requests.append(("load", request.checkpoint_id, request.offset, request.length))
        return real_load(request, *args, **kwargs)

    rt._channel.stubs[0].GetCheckpoint = recorded_get
    rt._channel.stubs[0].LoadCheckpoint = recorded_load
    assert rt.load_checkpoint(worker_id) == data

    # The latest is asked for with its chunks; every window then loads that checkpoint.
    assert requests == [("get", "", True, 0)] + [("load", checkpoint_id, n * window, window) for n in range(7)]


def test_gc_reclaims_the_chunks_of_deleted_checkpoints_only(rt: Runtime, worker_id: str) -> None:
    kept_data = pattern_bytes(MIB, seed=30)
    kept = rt.save_checkpoint(worker_id=worker_id, data=kept_data)
    doomed_data = pattern_bytes(2 * MIB, seed=31)
    rt.delete_checkpoint(worker_id, rt.save_checkpoint(worker_id=worker_id, data=doomed_data))

    dry = rt.run_gc(dry_run=True, grace_ms=0)
    assert dry.dry_run is True and dry.grace_ms == 0
    assert dry.chunks_deleted >= 1 and dry.bytes_reclaimed >= len(doomed_data)
    real = rt.run_gc(grace_ms=0)
    assert real.dry_run is False
    assert real.chunks_deleted >= 1 and real.bytes_reclaimed >= len(doomed_data)
    assert rt.run_gc(dry_run=True, grace_ms=0).chunks_deleted == 0

    assert rt.load_checkpoint(worker_id, kept) == kept_data
