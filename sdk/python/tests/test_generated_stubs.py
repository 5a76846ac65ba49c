"""The checked-in stubs in pulse/_generated/ are what scripts/generate_stubs.py
makes from proto/pulse.proto now: regenerated into a temporary directory, every
file must be identical. Fix a failure with `python sdk/python/scripts/generate_stubs.py`.

They must also stay importable across the dependency range of pyproject.toml:
no runtime version checks, and a protobuf floor no older than the gencode."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

SDK_DIR = Path(__file__).resolve().parent.parent
GENERATED_DIR = SDK_DIR / "pulse" / "_generated"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_stubs", SDK_DIR / "scripts" / "generate_stubs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools comes from requirements-dev.txt")
    script = load_script()
    script.check_tools_version()  # another version would generate other code

    script.generate(tmp_path)

    fresh = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    checked_in = {
        path.name: path.read_text(encoding="utf-8") for path in GENERATED_DIR.iterdir() if path.is_file()
    }
    assert sorted(checked_in) == sorted(fresh), "pulse/_generated/ has other files than the generator makes"
    stale = [name for name in sorted(fresh) if fresh[name] != checked_in[name]]
    assert not stale, f"stale stubs {stale}: run `python sdk/python/scripts/generate_stubs.py`"


def test_stubs_import_package_relative() -> None:
    text = (GENERATED_DIR / "pulse_pb2_grpc.py").read_text(encoding="utf-8")
    assert "from . import pulse_pb2 as pulse__pb2" in text
    assert "\nimport pulse_pb2" not in text


def test_the_stubs_describe_the_service_of_the_proto() -> None:
    from pulse._generated import pulse_pb2

    service = pulse_pb2.DESCRIPTOR.services_by_name["PulseRuntime"]
    assert service.full_name == "pulse.v1.PulseRuntime"
    assert {"RegisterWorker", "SaveCheckpoint", "LoadCheckpoint", "ListCheckpoints"} <= set(service.methods_by_name)


def test_the_stubs_check_no_runtime_versions() -> None:
    """Gencode that validates the protobuf runtime (protobuf 5.27 and later) fails
    to import on protobuf 4.25, and gRPC stubs that check the grpcio version
    (grpcio-tools 1.63 and later) refuse any grpcio older than them: either
    would break the floors that pyproject.toml promises."""
    pb2 = (GENERATED_DIR / "pulse_pb2.py").read_text(encoding="utf-8")
    grpc_stubs = (GENERATED_DIR / "pulse_pb2_grpc.py").read_text(encoding="utf-8")
    assert "runtime_version" not in pb2
    assert "GRPC_GENERATED_VERSION" not in grpc_stubs
    assert "_registered_method" not in grpc_stubs


def test_the_protobuf_floor_is_the_gencode_version() -> None:
    """Protobuf never supports gencode newer than its runtime, so the floor in
    pyproject.toml must be at least the version the stubs were generated for;
    it is exactly that one, the oldest the stubs allow."""
    pb2 = (GENERATED_DIR / "pulse_pb2.py").read_text(encoding="utf-8")
    pyproject = (SDK_DIR / "pyproject.toml").read_text(encoding="utf-8")
    gencode = re.search(r"^# Protobuf Python Version: (\S+)$", pb2, re.M)
    floor = re.search(r'"protobuf>=([^,"]+)', pyproject)
    assert gencode is not None and floor is not None
    assert floor.group(1) == gencode.group(1)
