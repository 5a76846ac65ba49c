"""Every Python example in sdk/python/README.md that talks to
grpc://localhost:50051 runs against a real runtime, with only its address
changed to the test runtime's; the others (TLS, tokens) must compile."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
README_ADDRESS = '"grpc://localhost:50051"'


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_the_seed_example_verbatim() -> None:
    from test_seed import SEED_SNIPPET

    assert SEED_SNIPPET in examples()


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_runs(index: int, address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = examples()[index]
    if "import torch" in code:
        pytest.importorskip("torch", reason="the pulse.torch example needs PyTorch (CI installs it)")
    if README_ADDRESS not in code:
        compile(code, f"README.md example {index}", "exec")
        return
    assert code.count(README_ADDRESS) == 1
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    namespace: dict[str, object] = {"__name__": f"readme_example_{index}"}
    exec(compile(code.replace(README_ADDRESS, repr(address)), f"README.md example {index}", "exec"), namespace)
    rt = namespace.get("rt")
    if rt is not None:
        rt.close()  # type: ignore[attr-defined]
    if (tmp_path / "restored.pt").exists():
        assert (tmp_path / "restored.pt").read_bytes() == (tmp_path / "model.pt").read_bytes()
