"""Generates the Python gRPC stubs of proto/pulse.proto into pulse/_generated/.

The output is checked in; tests/test_generated_stubs.py regenerates it into a
temporary directory and fails when the checked-in files differ. The stubs are
made by the grpcio-tools version pinned in requirements-dev.txt, and this script
refuses to run with another one, because the generated code (and the grpcio and
protobuf versions it demands at import time) depends on that version.

That version is old on purpose (grpcio-tools 1.62.3: protoc 25.1, protobuf
gencode 4.25.1). Gencode of protobuf 5.27 and later calls
``runtime_version.ValidateProtobufRuntimeVersion``, which protobuf 4.25 lacks
and which refuses any runtime older than the gencode (5.27 also gencode of
another major, 5.28 of another major but the one before); grpcio-tools 1.63
and later also make stubs that refuse a grpcio older than themselves. The
4.25.1 gencode checks neither, and uses only
``descriptor_pool.AddSerializedFile`` and ``internal.builder``'s
``BuildMessageAndEnumDescriptors`` and ``BuildTopDescriptorsAndMessages``,
which protobuf 4.25 through 7.x all have (7.x keeps a shim for the
``_options`` that old gencode resets). So the package works with protobuf
4.25.1 to 7.x and grpcio 1.60 and newer; scripts/test_dependency_range.sh runs
the suite at both ends of that range.

Usage, from anywhere:

    python sdk/python/scripts/generate_stubs.py            # into pulse/_generated/
    python sdk/python/scripts/generate_stubs.py --out DIR  # into DIR
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = SDK_DIR.parent.parent
PROTO_FILE = REPO_DIR / "proto" / "pulse.proto"
OUT_DIR = SDK_DIR / "pulse" / "_generated"
REQUIREMENTS_FILE = SDK_DIR / "requirements-dev.txt"

INIT_TEXT = '''"""Stubs generated from proto/pulse.proto by scripts/generate_stubs.py. Do not edit."""
'''

# protoc writes `import pulse_pb2 as pulse__pb2` for a top-level module; the
# stubs live inside the package, so the import must be package-relative.
ABSOLUTE_IMPORT = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)


def pinned_tools_version() -> str:
    """The grpcio-tools version that requirements-dev.txt pins."""
    for line in REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*grpcio-tools==([^\s#]+)\s*(#.*)?", line)
        if match:
            return match.group(1)
    raise SystemExit(f"Cannot generate stubs: {REQUIREMENTS_FILE} pins no grpcio-tools version")


def check_tools_version() -> None:
    """Exits with a message when the installed grpcio-tools is not the pinned one."""
    pinned = pinned_tools_version()
    try:
        installed = metadata.version("grpcio-tools")
    except metadata.PackageNotFoundError:
        raise SystemExit(
            f"Cannot generate stubs: grpcio-tools is not installed; "
            f"run `pip install -r {REQUIREMENTS_FILE}`"
        ) from None
    if installed != pinned:
        raise SystemExit(
            f"Cannot generate stubs: grpcio-tools is {installed}, "
            f"requirements-dev.txt pins {pinned}"
        )


def generate(out_dir: Path, proto_file: Path = PROTO_FILE) -> list[Path]:
    """Writes the stubs of `proto_file` into `out_dir` (replacing the files it
    makes, leaving others) and returns the paths written."""
    from grpc_tools import protoc  # imported here so that --help works without it

    well_known = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory(prefix="pulse-stubs-") as scratch:
        args = [
            "grpc_tools.protoc",
            f"--proto_path={proto_file.parent}",
            f"--proto_path={well_known}",
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--grpc_python_out={scratch}",
            str(proto_file),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"Cannot generate stubs: protoc failed on {proto_file}")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for made in sorted(Path(scratch).iterdir()):
            text = ABSOLUTE_IMPORT.sub(r"from . import \1 as \2", made.read_text(encoding="utf-8"))
            target = out_dir / made.name
            target.write_text(text, encoding="utf-8")
            written.append(target)
    init = out_dir / "__init__.py"
    init.write_text(INIT_TEXT, encoding="utf-8")
    written.append(init)
    return written


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and generates the stubs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default: {OUT_DIR})")
    parser.add_argument("--proto", type=Path, default=PROTO_FILE, help=f"proto file (default: {PROTO_FILE})")
    args = parser.parse_args(argv)
    check_tools_version()
    for path in generate(args.out, args.proto):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
