"""The product description's Python example (seed README, "Using the Python SDK"),
verbatim, run against a real runtime: the one promise the Python SDK must keep."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulse import Runtime, WorkerState

# Copied verbatim from spec/seed-README.md; test_seed_snippet_is_the_seed_readme_text
# proves it still is.
SEED_SNIPPET = """\
from pulse import Runtime

# Connect to the runtime
rt = Runtime("grpc://localhost:50051")

# Register a worker
rt.register_worker("worker-1", metadata={"gpu": "A100", "memory": "80GB"})

# Register a dataset
rt.register_dataset("training-data", path="s3://bucket/data")

# Save a checkpoint (async upload to S3)
checkpoint_id = rt.save_checkpoint(
    worker_id="worker-1",
    data=b"model-state-bytes",
    metadata={"epoch": 10, "loss": 0.001}
)

# Send heartbeat
rt.heartbeat("worker-1")

# Graceful shutdown
rt.deregister_worker("worker-1")
"""

SEED_ADDRESS = '"grpc://localhost:50051"'
SEED_README_CANDIDATES = [
    # A work tree with shared/ beside it (developers' machines and CI).
    Path(__file__).resolve().parents[4] / "shared" / "spec" / "seed-README.md",
    Path(__file__).resolve().parents[3] / "shared" / "spec" / "seed-README.md",
]


def test_seed_snippet_is_the_seed_readme_text() -> None:
    """The snippet above is character for character the one in the seed README."""
    readme = next((path for path in SEED_README_CANDIDATES if path.is_file()), None)
    if readme is None:
        pytest.skip("spec/seed-README.md is not beside this work tree")
    text = readme.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert SEED_SNIPPET in blocks


def test_seed_snippet_runs_against_a_real_runtime(address: str) -> None:
    """Runs the snippet with only its address changed to the test runtime's, then
    checks through a second client that every call did what it says."""
    assert SEED_SNIPPET.count(SEED_ADDRESS) == 1
    code = SEED_SNIPPET.replace(SEED_ADDRESS, repr(address))
    namespace: dict[str, object] = {"__name__": "seed_snippet"}
    exec(compile(code, "seed-README.md", "exec"), namespace)
    seed_client = namespace["rt"]
    assert isinstance(seed_client, Runtime)
    seed_client.close()

    checkpoint_id = namespace["checkpoint_id"]
    assert isinstance(checkpoint_id, str)
    assert re.fullmatch(r"chk_[0-9A-HJKMNP-TV-Z]{26}", checkpoint_id)
    with Runtime(address) as rt:
        worker = rt.get_worker("worker-1")
        assert worker.state == WorkerState.DEREGISTERED
        assert worker.metadata == {"gpu": "A100", "memory": "80GB"}
        dataset = rt.get_dataset("training-data")
        assert dataset.path == "s3://bucket/data"
        assert dataset.metadata == {}
        checkpoint = rt.get_checkpoint("worker-1")
        assert checkpoint.checkpoint_id == checkpoint_id
        assert checkpoint.metadata == {"epoch": 10, "loss": 0.001}
        assert checkpoint.size_bytes == len(b"model-state-bytes")
        assert rt.load_checkpoint("worker-1", checkpoint_id) == b"model-state-bytes"
