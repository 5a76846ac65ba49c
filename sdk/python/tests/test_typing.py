"""The package type-checks under `mypy --strict` (its configuration is in
pyproject.toml), and so does the seed example as user code: the public
signatures accept exactly the calls the product description makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from test_seed import SEED_SNIPPET

SDK_DIR = Path(__file__).resolve().parent.parent


def test_the_package_and_the_seed_example_pass_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy comes from requirements-dev.txt")
    example = tmp_path / "seed_example.py"
    example.write_text(
        SEED_SNIPPET
        + "\nworker = rt.get_worker('worker-1')\n"
        + "state: str = worker.state\n"
        + "data: bytes = rt.load_checkpoint('worker-1', checkpoint_id)\n"
        + "ids: list[str] = [c.checkpoint_id for c in rt.list_checkpoints('worker-1')]\n"
        + "with open(__file__, 'rb') as source:\n"
        + "    streamed: str = rt.save_checkpoint_stream('worker-1', source)\n"
        + "    changed: str = rt.save_checkpoint_stream('worker-1', source, incremental=True)\n"
        + "again: str = rt.save_checkpoint('worker-1', b'state', {'epoch': 11}, incremental=True)\n"
        + "from concurrent.futures import Future\n"
        + "pending: Future[str] = rt.save_checkpoint('worker-1', bytearray(b'state'), wait=False)\n"
        + "later: str = pending.result(timeout=60)\n"
        + "either: str | Future[str] = rt.save_checkpoint_stream('worker-1', open(__file__, 'rb'), wait=bool(later))\n"
        + "with open('/dev/null', 'wb') as target:\n"
        + "    size: int = rt.load_checkpoint_to('worker-1', target).size_bytes\n"
        + "rt.close(cancel_pending=True)\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "pulse", str(example)],
        cwd=SDK_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
