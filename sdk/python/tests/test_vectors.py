"""The SDK's chunker and save messages against the shared test vectors of
proto/testdata/chunking.json, which the TypeScript SDK's suite reads too and
which scripts/generate_test_vectors.ts computes from first principles: for each
case, the pieces are fed to the SDK's own code (no runtime involved), and the
chunks (offset, size, SHA-256), the chunk-list hash, every message after the
header (data messages by size, names of the base's chunks) and the trailer must
be exactly the listed ones. A chunker or hash that drifts from its twin fails."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulse._checkpoint_save import ChunkEnd, Segment, chunks_sha256, cut_chunks, save_requests
from pulse._generated import pulse_pb2 as pb
from pulse._protocol import CHUNK_BYTES, DATA_MESSAGE_BYTES

VECTORS_FILE = Path(__file__).resolve().parents[3] / "proto" / "testdata" / "chunking.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]


@functools.lru_cache(maxsize=None)
def input_bytes(seed: str, size: int) -> bytes:
    """The input of a case, as the vectors' ``about`` says: the SHA-256 of
    ``f"{seed}:{k}"`` (UTF-8) for k = 0, 1, 2, ..., concatenated and cut to size."""
    blocks = (hashlib.sha256(f"{seed}:{k}".encode("utf-8")).digest() for k in range((size + 31) // 32))
    return b"".join(blocks)[:size]


def pieces_of(case: dict[str, Any], kind: Callable[[bytes], Segment]) -> list[Segment]:
    """The case's input handed over in its pieces, each as ``kind`` makes it."""
    data = input_bytes(case["seed"], case["size"])
    pieces: list[Segment] = []
    offset = 0
    for size in case["pieces"]:
        pieces.append(kind(data[offset : offset + size]))
        offset += size
    assert offset == len(data)
    return pieces


PIECE_KINDS = {"bytes pieces": bytes, "memoryview pieces": memoryview}


def test_the_vectors_use_the_constants_of_the_protocol() -> None:
    assert VECTORS["chunk_bytes"] == CHUNK_BYTES
    assert VECTORS["data_message_bytes"] == DATA_MESSAGE_BYTES


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_input_bytes_are_those_the_vectors_were_made_from(case: dict[str, Any]) -> None:
    """Checks this file's reading of ``about``, so that a failure below is the SDK's."""
    assert hashlib.sha256(input_bytes(case["seed"], case["size"])).hexdigest() == case["sha256"]


@pytest.mark.parametrize("kind", PIECE_KINDS.values(), ids=PIECE_KINDS.keys())
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_chunker_cuts_and_hashes_the_chunks_of_the_vectors(
    case: dict[str, Any], kind: Callable[[bytes], Segment]
) -> None:
    ends = [item for item in cut_chunks(pieces_of(case, kind)) if isinstance(item, ChunkEnd)]

    chunks = [{"offset": end.offset, "size": end.size, "sha256": end.sha256} for end in ends]
    assert chunks == case["chunks"]
    assert [end.index for end in ends] == list(range(len(case["chunks"])))
    assert chunks_sha256(end.sha256 for end in ends) == case["chunks_sha256"]


@pytest.mark.parametrize("kind", PIECE_KINDS.values(), ids=PIECE_KINDS.keys())
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_save_sends_the_messages_and_trailer_of_the_vectors(
    case: dict[str, Any], kind: Callable[[bytes], Segment]
) -> None:
    """The base is given as the set of the listed hashes of its chunks; the data
    messages must also carry the input's bytes, in order."""
    named = frozenset(case["chunks"][index]["sha256"] for index in case["base_chunks"])

    requests = list(save_requests(pieces_of(case, kind), named))

    *messages, last = requests
    assert last.WhichOneof("payload") == "trailer"
    trailer = case["trailer"]
    assert last.trailer == pb.SaveCheckpointTrailer(
        size_bytes=trailer["size_bytes"], chunks_sha256=trailer["chunks_sha256"]
    )
    assert [summary(message) for message in messages] == case["messages"]
    assert sent_bytes(messages, case) == input_bytes(case["seed"], case["size"])


def summary(message: pb.SaveCheckpointRequest) -> dict[str, Any]:
    """A message as the vectors write it: ``data_bytes`` or ``chunk_sha256``."""
    kind = message.WhichOneof("payload")
    if kind == "data":
        return {"data_bytes": len(message.data)}
    if kind == "chunk_sha256":
        return {"chunk_sha256": message.chunk_sha256}
    return {kind: "unexpected"}


def sent_bytes(messages: list[pb.SaveCheckpointRequest], case: dict[str, Any]) -> bytes:
    """The input as the runtime rebuilds it: data as sent, named chunks from the base."""
    data = input_bytes(case["seed"], case["size"])
    base = {chunk["sha256"]: data[chunk["offset"] : chunk["offset"] + chunk["size"]] for chunk in case["chunks"]}
    return b"".join(
        message.data if message.WhichOneof("payload") == "data" else base[message.chunk_sha256]
        for message in messages
    )
