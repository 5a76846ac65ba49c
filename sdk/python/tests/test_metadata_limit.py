"""Metadata over METADATA_BYTES_MAX is refused by the SDK before sending, with the
runtime's code and message, measured as the runtime measures it (the UTF-8
length of JSON.stringify of the object it decodes from the Struct).

The runtime is the oracle: metadata one byte over the limit by the SDK's count
is sent past the SDK on a raw channel, and the runtime's message must be the
SDK's exactly (so both counted the same N); one byte less, both accept it.
JavaScript's number formatting is checked against Deno itself."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from pulse import METADATA_BYTES_MAX, PulseError, Runtime
from pulse._generated import pulse_pb2 as pb
from pulse._generated import pulse_pb2_grpc
from pulse._wire import javascript_number, struct_json_bytes, to_struct
from runtime_process import RuntimeProcess

MIB = 1024 * 1024

# Values whose JSON length is easy to get wrong: numbers JavaScript writes
# otherwise than Python, characters of 2 to 4 bytes in UTF-8, escapes, nesting.
CASES: list[dict[str, Any]] = [
    {"loss": 0.001, "epoch": 10},
    {"big": 1e21, "bigger": 1.5e300, "largest_plain": 1e20, "power": 2.0**60},
    {"small": 1e-7, "plain": 0.000001, "tiny": 5e-324, "sum": 0.1 + 0.2},
    {"zero": -0.0, "whole": 100.0, "negative": -12.5, "safe": 2**53},
    {"text": "ü€😀 ünïcødé"},
    {"escapes": '"\\\n\t\b\f\r\x00\x1f\x7f\u2028/'},
    {"nested": {"a": [1, None, True, False, "s", [], {}, (2, 3)], "": {"deep": {"deeper": [[]]}}}},
    {"é-key": 1, '"': 2, "\n": 3},
]


@pytest.fixture
def raw_stub(runtime_process: RuntimeProcess) -> Iterator[Any]:
    """A stub on a channel of its own, which sends what the SDK would refuse."""
    with grpc.insecure_channel(runtime_process.grpc_address) as channel:
        yield pulse_pb2_grpc.PulseRuntimeStub(channel)  # type: ignore[no-untyped-call]


def padded(case: dict[str, Any], size_bytes: int) -> dict[str, Any]:
    """``case`` with a ``pad`` string that makes it ``size_bytes`` long by the SDK's count."""
    metadata = {"pad": "", **case}
    metadata["pad"] = "x" * (size_bytes - struct_json_bytes(to_struct(metadata)))
    assert struct_json_bytes(to_struct(metadata)) == size_bytes
    return metadata


def runtime_error(call: Any) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return str(caught.value.details())


@pytest.mark.parametrize("case", CASES)
def test_the_sdk_counts_metadata_bytes_as_the_runtime_does(rt: Runtime, raw_stub: Any, case: dict[str, Any]) -> None:
    worker = f"worker-{uuid.uuid4().hex[:12]}"
    over = padded(case, METADATA_BYTES_MAX + 1)
    expected = f"Cannot register worker: metadata is {METADATA_BYTES_MAX + 1} bytes, limit is {METADATA_BYTES_MAX}"
    request = pb.RegisterWorkerRequest(worker_id=worker, metadata=to_struct(over))
    assert runtime_error(lambda: raw_stub.RegisterWorker(request, timeout=30)) == expected
    with pytest.raises(PulseError) as caught:
        rt.register_worker(worker, metadata=over)
    assert (caught.value.code, caught.value.message) == ("INVALID_ARGUMENT", expected)

    at_limit = padded(case, METADATA_BYTES_MAX)
    request = pb.RegisterWorkerRequest(worker_id=worker, metadata=to_struct(at_limit))
    assert raw_stub.RegisterWorker(request, timeout=30).worker.worker_id == worker
    assert rt.register_worker(worker, metadata=at_limit).worker_id == worker


def test_metadata_of_20_mib_is_refused_before_sending_with_the_runtimes_message(rt: Runtime) -> None:
    """Far over the largest message: without the SDK's check this was a
    RESOURCE_EXHAUSTED of the channel's send limit, not the metadata limit."""
    name = f"worker-{uuid.uuid4().hex[:12]}"
    metadata = {"blob": "x" * (20 * MIB)}
    size = len('{"blob":""}') + 20 * MIB
    calls = {
        "register worker": lambda: rt.register_worker(name, metadata=metadata),
        "register dataset": lambda: rt.register_dataset(name, "s3://bucket/data", metadata=metadata),
        "save checkpoint": lambda: rt.save_checkpoint(name, b"state", metadata=metadata),
    }
    for action, call in calls.items():
        with pytest.raises(PulseError) as caught:
            call()
        assert caught.value.code == "INVALID_ARGUMENT"
        assert caught.value.message == f"Cannot {action}: metadata is {size} bytes, limit is 65536"
    # Nothing reached the runtime.
    for lookup in (lambda: rt.get_worker(name), lambda: rt.get_dataset(name)):
        with pytest.raises(PulseError, match="NOT_FOUND"):
            lookup()


def test_saves_refuse_metadata_over_the_limit_with_the_runtimes_message(
    rt: Runtime, raw_stub: Any, worker_id: str
) -> None:
    over = padded(CASES[0], METADATA_BYTES_MAX + 1)
    header = pb.SaveCheckpointHeader(worker_id=worker_id, metadata=to_struct(over), expect_trailer=True)
    expected = runtime_error(lambda: raw_stub.SaveCheckpoint(iter([pb.SaveCheckpointRequest(header=header)])))
    for call in (
        lambda: rt.save_checkpoint(worker_id, b"state", metadata=over),
        lambda: rt.save_checkpoint_stream(worker_id, io.BytesIO(b"state"), metadata=over),
    ):
        with pytest.raises(PulseError) as caught:
            call()
        assert (caught.value.code, caught.value.message) == ("INVALID_ARGUMENT", expected)
    assert list(rt.list_checkpoints(worker_id)) == []


def test_numbers_are_written_as_javascript_writes_them() -> None:
    """Doubles from random bits (every exponent) and the edges of JavaScript's
    notations, formatted by the SDK and by Deno's ``String(number)``."""
    generator = random.Random(20260101)
    numbers = [1e21, 1e20, 999999999999999900000.0, 1e-7, 1e-6, 1.5e-7, 123e-20, -0.0, 5e-324, 1.7976931348623157e308]
    while len(numbers) < 3000:
        (number,) = struct.unpack("<d", generator.getrandbits(64).to_bytes(8, "little"))
        if number == number and abs(number) != float("inf"):
            numbers.append(number)
    numbers += [generator.uniform(-1e6, 1e6) for _ in range(500)]
    numbers += [float(generator.randrange(10**22)) for _ in range(500)]
    script = (
        "const text = await new Response(Deno.stdin.readable).text();"
        'console.log(text.trim().split("\\n").map((line) => String(Number(line))).join("\\n"));'
    )
    deno = subprocess.run(
        ["deno", "eval", script],
        input="\n".join(repr(number) for number in numbers),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = deno.stdout.split("\n")[: len(numbers)]
    assert [javascript_number(number) for number in numbers] == expected
