#!/usr/bin/env bash
# Runs the Python SDK's test suite at both ends of the dependency range that
# sdk/python/pyproject.toml declares, each in a virtualenv of its own:
#
#   oldest: the floors of pyproject.toml exactly (grpcio==1.60.0,
#           protobuf==4.25.1) on $OLDEST_PYTHON (python3.10, the oldest Python
#           supported, from PATH or pyenv when there is one; python3 otherwise);
#   newest: the latest grpcio and protobuf that pyproject.toml allows, from the
#           package index, on $NEWEST_PYTHON (python3 unless set).
#
# The SDK is installed into each (from a copy of sdk/python's package files, so
# that no build directory of the tree, stale or not, goes into it), with pytest, the only other thing the tests need; the tests that need mypy or
# grpcio-tools skip. The tests start the real runtime, so `deno` must be on PATH
# and the repository's npm packages installed (`deno install --frozen`).
#
# Prints the versions and a "<venv>: N passed, N failed, N skipped" line per
# virtualenv, and exits non-zero when either fails (or cannot be set up).
#
# Usage, from anywhere: bash sdk/python/scripts/test_dependency_range.sh

set -uo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pulse-dependency-range.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT

# python3.10 on PATH, else pyenv's, else python3.
default_oldest_python() {
  local candidate
  for candidate in python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10.*/bin/python3.10; do
    if "$candidate" -c "" >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
  echo python3
}
OLDEST_PYTHON="${OLDEST_PYTHON:-$(default_oldest_python)}"
NEWEST_PYTHON="${NEWEST_PYTHON:-python3}"

# The pytest of requirements-dev.txt, so that both ends run the same one.
PYTEST_PIN="$(grep -E '^pytest==' "$SDK_DIR/requirements-dev.txt")" || {
  echo "Cannot test the dependency range: $SDK_DIR/requirements-dev.txt pins no pytest"
  exit 1
}

# The floors of pyproject.toml as exact pins: "grpcio>=1.60.0" -> "grpcio==1.60.0".
floor_pins() {
  sed -n -E 's/^ *"(grpcio|protobuf)>=([^,"]+).*$/\1==\2/p' "$SDK_DIR/pyproject.toml"
}

# run_suite NAME PYTHON PIP_ARGUMENTS...: makes a virtualenv, installs the SDK
# and pytest with the arguments, runs the suite and prints its counts.
# Returns non-zero when the suite fails or cannot run.
run_suite() {
  local name="$1" python="$2"
  shift 2
  local venv="$WORK_DIR/$name"
  echo "== $name: $python, pip install $*"
  if ! "$python" -m venv "$venv" \
    || ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$SOURCE_DIR" "$PYTEST_PIN" "$@"; then
    echo "$name: cannot set up the virtualenv"
    return 1
  fi
  # Run from the work directory, so that `import pulse` finds the installed
  # package and not the source tree.
  (cd "$WORK_DIR" && "$venv/bin/python" -c '
import sys
from importlib import metadata
import pulse
print("Python", sys.version.split()[0], "grpcio", metadata.version("grpcio"),
      "protobuf", metadata.version("protobuf"), "pulse from", pulse.__file__)')
  local code=0
  (cd "$WORK_DIR" && "$venv/bin/python" -m pytest "$SDK_DIR/tests" -q -p no:cacheprovider \
    --junitxml="$WORK_DIR/$name.xml") || code=$?
  "$venv/bin/python" - "$name" "$WORK_DIR/$name.xml" <<'EOF' || code=1
import sys
import xml.etree.ElementTree as tree

name, path = sys.argv[1:]
try:
    suite = tree.parse(path).getroot()
except (OSError, tree.ParseError):
    print(f"{name}: 0 passed, 1 failed (the suite did not run)")
    sys.exit(1)
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
print(f"{name}: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
EOF
  return "$code"
}

# What pip builds the package from: pyproject.toml and what it names.
SOURCE_DIR="$WORK_DIR/source"
mkdir "$SOURCE_DIR" && cp -R "$SDK_DIR/pyproject.toml" "$SDK_DIR/README.md" "$SDK_DIR/pulse" "$SOURCE_DIR/" || exit 1
find "$SOURCE_DIR" -name __pycache__ -prune -exec rm -rf {} +

status=0
mapfile -t oldest_pins < <(floor_pins)
if [ "${#oldest_pins[@]}" -ne 2 ]; then
  echo "Cannot test the dependency range: found ${#oldest_pins[@]} floors for grpcio and protobuf in $SDK_DIR/pyproject.toml, expected 2"
  exit 1
fi
run_suite oldest "$OLDEST_PYTHON" "${oldest_pins[@]}" || status=1
run_suite newest "$NEWEST_PYTHON" --upgrade grpcio protobuf || status=1
exit "$status"
