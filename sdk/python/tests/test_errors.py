"""Errors: every failed call raises PulseError with the gRPC code name and the
runtime's message (never a raw grpc.RpcError); bad input is refused before it is
sent; a save whose source fails makes no checkpoint."""

from __future__ import annotations

import io
import math
import time
import uuid

import grpc
import pytest

from pulse import MESSAGE_BYTES_MAX, PulseError, Runtime


def unknown_worker() -> str:
    return f"unknown-{uuid.uuid4().hex[:12]}"


def test_a_bad_worker_id_is_invalid_argument(rt: Runtime) -> None:
    with pytest.raises(PulseError) as caught:
        rt.register_worker("bad id!")
    error = caught.value
    assert not isinstance(error, grpc.RpcError)
    assert error.code == "INVALID_ARGUMENT"
    assert "worker_id" in error.message and "bad id!" in error.message
    assert str(error) == f"INVALID_ARGUMENT: {error.message}"


@pytest.mark.parametrize("worker_id", ["", "-leading-dash", "x" * 129, "a/b", "ü"])
def test_every_malformed_worker_id_is_invalid_argument(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(PulseError) as caught:
        rt.save_checkpoint(worker_id=worker_id, data=b"x")
    assert caught.value.code == "INVALID_ARGUMENT"


def test_an_unknown_worker_is_not_found(rt: Runtime) -> None:
    worker = unknown_worker()
    for call in (
        lambda: rt.heartbeat(worker),
        lambda: rt.get_worker(worker),
        lambda: rt.deregister_worker(worker),
        lambda: rt.save_checkpoint(worker_id=worker, data=b"state"),
        lambda: rt.save_checkpoint_stream(worker, io.BytesIO(b"state")),
    ):
        with pytest.raises(PulseError) as caught:
            call()
        assert caught.value.code == "NOT_FOUND", caught.value
        assert worker in caught.value.message


def test_a_missing_checkpoint_is_not_found(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(PulseError) as caught:
        rt.load_checkpoint(worker_id)
    assert caught.value.code == "NOT_FOUND"
    missing = "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for call in (
        lambda: rt.load_checkpoint(worker_id, missing),
        lambda: rt.load_checkpoint_to(worker_id, io.BytesIO(), missing),
        lambda: rt.get_checkpoint(worker_id, missing),
        lambda: rt.delete_checkpoint(worker_id, missing),
    ):
        with pytest.raises(PulseError) as caught:
            call()
        assert caught.value.code == "NOT_FOUND", caught.value
        assert missing in caught.value.message


def test_a_malformed_checkpoint_id_is_invalid_argument(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(PulseError) as caught:
        rt.load_checkpoint(worker_id, "not-a-checkpoint")
    assert caught.value.code == "INVALID_ARGUMENT"
    assert "checkpoint_id" in caught.value.message


def test_an_unknown_dataset_is_not_found(rt: Runtime) -> None:
    with pytest.raises(PulseError) as caught:
        rt.get_dataset(f"dataset-{uuid.uuid4().hex[:8]}")
    assert caught.value.code == "NOT_FOUND"


def test_listing_raises_when_called_not_when_iterated(rt: Runtime) -> None:
    with pytest.raises(PulseError) as caught:
        rt.list_checkpoints("bad id!")
    assert caught.value.code == "INVALID_ARGUMENT"
    with pytest.raises(PulseError) as caught:
        rt.list_workers(page_size=100_000)
    assert caught.value.code == "INVALID_ARGUMENT"


def test_metadata_that_is_not_json_is_refused_before_sending(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(TypeError, match=r"metadata\['when'\] is bytes"):
        rt.save_checkpoint(worker_id=worker_id, data=b"x", metadata={"when": b"raw"})
    with pytest.raises(TypeError, match="key 1"):
        rt.register_worker(worker_id, metadata={1: "one"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="nan"):
        rt.save_checkpoint(worker_id=worker_id, data=b"x", metadata={"loss": math.nan})
    with pytest.raises(ValueError, match="2\\*\\*53"):
        rt.save_checkpoint(worker_id=worker_id, data=b"x", metadata={"step": 2**53 + 1})
    assert list(rt.list_checkpoints(worker_id)) == []


def test_metadata_over_the_limit_is_invalid_argument(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(PulseError) as caught:
        rt.save_checkpoint(worker_id=worker_id, data=b"x", metadata={"blob": "x" * 70_000})
    assert caught.value.code == "INVALID_ARGUMENT"
    assert "65536" in caught.value.message


def test_a_header_over_the_largest_message_is_refused_before_sending(rt: Runtime, worker_id: str) -> None:
    """An idempotency key far over the runtime's limit (which the runtime checks,
    not the SDK) makes a header bigger than MESSAGE_BYTES_MAX, the largest
    message the runtime accepts: the channel refuses to send it."""
    with pytest.raises(PulseError) as caught:
        rt.save_checkpoint(worker_id=worker_id, data=b"x", idempotency_key="k" * (MESSAGE_BYTES_MAX + 1))
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert str(MESSAGE_BYTES_MAX) in caught.value.message
    assert list(rt.list_checkpoints(worker_id)) == []


def test_data_that_is_not_bytes_is_a_type_error(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(TypeError):
        rt.save_checkpoint(worker_id=worker_id, data="text")  # type: ignore[arg-type]


class FailingReader(io.RawIOBase):
    """Gives `pieces` 1 MiB pieces, then fails as a broken disk would."""

    def __init__(self, pieces: int) -> None:
        self.left = pieces

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        time.sleep(0.05)  # let the pieces reach the runtime before the failure
        if self.left == 0:
            raise OSError("disk on fire")
        self.left -= 1
        return b"\x01" * size


@pytest.mark.parametrize("pieces", [0, 3])
def test_a_failing_source_cancels_the_save_and_makes_no_checkpoint(
    rt: Runtime, worker_id: str, pieces: int
) -> None:
    with pytest.raises(OSError, match="disk on fire"):
        rt.save_checkpoint_stream(worker_id, FailingReader(pieces))
    # The runtime is fine afterwards.
    assert rt.load_checkpoint(worker_id, rt.save_checkpoint(worker_id=worker_id, data=b"ok")) == b"ok"
    assert [c.size_bytes for c in rt.list_checkpoints(worker_id)] == [2]


def test_a_text_file_is_a_type_error_and_makes_no_checkpoint(rt: Runtime, worker_id: str) -> None:
    with pytest.raises(TypeError, match="binary mode"):
        rt.save_checkpoint_stream(worker_id, io.StringIO("text"))  # type: ignore[arg-type]
    assert list(rt.list_checkpoints(worker_id)) == []


def test_a_bad_address_is_a_value_error() -> None:
    for address in ("http://localhost:50051", "grpc://", ""):
        with pytest.raises(ValueError, match="grpc://host:port"):
            Runtime(address)
