#!/usr/bin/env bash
# Build the sdist and run tests from it: `bash scripts/sdist.sh [TEST FILE...]`.
#
# Fails when the sdist lacks a file git tracks, so that whatever the tests
# import or read (fuzz/, tests/data, tests/node's package files, scripts/,
# .ci/run) ships; then runs README's test command (scripts/test.sh,
# with EXTRAS=test-core) in the unpacked sdist, passing it the arguments.
# Needs a git checkout.  $PYTHON picks the interpreter, as for scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=".venv/build"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! log=$("$venv/bin/python" -m build --sdist --outdir "$work" . 2>&1); then
    echo "$log" >&2
    exit 1
fi
tar -xzf "$work"/*.tar.gz -C "$work"
tree=$(echo "$work"/*/)
missing=()
while IFS= read -r file; do
    [ -e "$tree/$file" ] || missing+=("$file")
done < <(git ls-files)
if [ ${#missing[@]} -gt 0 ]; then
    echo "sdist: missing ${#missing[@]} tracked file(s); add them to [tool.hatch.build.targets.sdist]:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
fi
EXTRAS=test-core PYTHON="$python" bash "$tree/scripts/test.sh" "$@"
