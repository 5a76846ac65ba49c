"""The client itself, workers and datasets against a real runtime: the context
manager closes the connection, closed clients refuse calls, registrations,
heartbeats and listings return what the runtime holds."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pulse import Dataset, PulseError, Runtime, Worker, WorkerState


def test_the_context_manager_closes_the_runtime(address: str) -> None:
    with Runtime(address) as rt:
        assert not rt.closed
        assert rt.get_worker is not None
        workers = list(rt.list_workers())
        assert all(isinstance(worker, Worker) for worker in workers)
    assert rt.closed
    assert "closed" in repr(rt)
    with pytest.raises(PulseError) as caught:
        rt.heartbeat("worker-1")
    assert caught.value.code == "CANCELLED"
    assert caught.value.message == "Cannot heartbeat: the Runtime is closed"
    with pytest.raises(PulseError) as caught:
        rt.save_checkpoint(worker_id="worker-1", data=b"x")
    assert caught.value.code == "CANCELLED"
    rt.close()  # twice is harmless


def test_the_context_manager_closes_on_an_exception(address: str) -> None:
    with pytest.raises(KeyError):
        with Runtime(address) as rt:
            raise KeyError("boom")
    assert rt.closed


def test_close_cancels_a_call_in_flight(address: str, worker_id: str) -> None:
    """A save blocked on a source that never ends is ended by close() from another thread."""
    rt = Runtime(address)
    release = threading.Event()

    class Endless:
        def read(self, size: int) -> bytes:
            release.wait(0.01)
            return b"\0" * size

    outcome: list[BaseException] = []

    def save() -> None:
        try:
            rt.save_checkpoint_stream(worker_id, Endless())
        except BaseException as error:  # noqa: BLE001 - recorded for the assertion
            outcome.append(error)

    thread = threading.Thread(target=save)
    thread.start()
    time.sleep(0.5)
    rt.close()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], PulseError)
    assert outcome[0].code == "CANCELLED"
    time.sleep(1.0)  # a (wrongly) committed save shows up once its last chunk is written
    with Runtime(address) as other:
        assert list(other.list_checkpoints(worker_id)) == []


def test_register_heartbeat_deregister_change_the_worker(rt: Runtime) -> None:
    worker_id = f"worker-{uuid.uuid4().hex[:12]}"
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    worker = rt.register_worker(worker_id, metadata={"gpu": "A100", "rank": 3})
    assert worker.worker_id == worker_id
    assert worker.state == WorkerState.ACTIVE == "ACTIVE"
    assert worker.metadata == {"gpu": "A100", "rank": 3}
    assert worker.registered_at >= before
    assert worker.registered_at.tzinfo is not None

    beat = rt.heartbeat(worker_id)
    assert beat.heartbeat_interval_ms == 10_000
    assert beat.server_time >= worker.registered_at
    assert rt.get_worker(worker_id).last_heartbeat >= worker.registered_at

    again = rt.register_worker(worker_id, metadata={"gpu": "H100"})
    assert again.metadata == {"gpu": "H100"}
    assert again.registered_at == worker.registered_at

    rt.deregister_worker(worker_id)
    assert rt.get_worker(worker_id).state == WorkerState.DEREGISTERED
    with pytest.raises(PulseError) as caught:
        rt.heartbeat(worker_id)
    assert caught.value.code == "FAILED_PRECONDITION"
    assert rt.register_worker(worker_id).state == WorkerState.ACTIVE
    rt.heartbeat(worker_id)


def test_list_workers_follows_pages(rt: Runtime) -> None:
    ids = sorted(f"lw-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for worker_id in ids:
        rt.register_worker(worker_id)
    listed = [worker.worker_id for worker in rt.list_workers(page_size=1)]
    assert [worker_id for worker_id in listed if worker_id in ids] == ids
    # Pages follow the records' keys in the store, workers/<id>.json.
    assert listed == sorted(listed, key=lambda worker_id: f"{worker_id}.json")
    assert listed == [worker.worker_id for worker in rt.list_workers()]


def test_datasets_register_get_and_list(rt: Runtime) -> None:
    name = f"dataset-{uuid.uuid4().hex[:8]}"
    dataset = rt.register_dataset(name, path="s3://bucket/data", metadata={"rows": 1_000_000})
    assert dataset == Dataset(
        name=name, path="s3://bucket/data", metadata={"rows": 1_000_000}, registered_at=dataset.registered_at
    )
    assert rt.get_dataset(name) == dataset
    moved = rt.register_dataset(name, path="s3://other/data")
    assert moved.path == "s3://other/data"
    assert name in [d.name for d in rt.list_datasets(page_size=1)]


def test_a_bad_dataset_name_is_invalid_argument(rt: Runtime) -> None:
    with pytest.raises(PulseError) as caught:
        rt.register_dataset("../escape", path="s3://bucket/data")
    assert caught.value.code == "INVALID_ARGUMENT"


def test_host_port_without_scheme_is_accepted(runtime_process: object, address: str) -> None:
    with Runtime(address.removeprefix("grpc://")) as rt:
        assert isinstance(list(rt.list_datasets()), list)
