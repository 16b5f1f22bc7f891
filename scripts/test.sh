#!/usr/bin/env bash
# Run the whole test suite, from a fresh machine: `bash scripts/test.sh`.
#
# First runs scripts/setup.sh, which installs the system packages and npm
# packages the tests drive when they are missing (quick when they are not).
# Then makes a virtual environment under .venv/ for the interpreter in $PYTHON
# (default python3; a name such as python3.8 is looked up on PATH and in
# pyenv, as scripts/find-python.sh does), installs the package and its test
# extras into it, and runs pytest under `python -bb -W error`, so that
# bytes/str mix-ups and any warning (at import time too, not only inside
# tests) fail loudly.  Arguments go to pytest, e.g.
# `bash scripts/test.sh -k decoder -x`.
#
# EXTRAS picks the extras to install (default: test; test-core installs only
# what the core's tests need, for interpreters where the rest does not build).
# With COVERAGE=1 in the environment it also measures branch coverage of
# sse_core/ and fails if it is under 100% ([tool.coverage] in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
bash scripts/setup.sh "$python"
case "$python" in
    */*) ;;
    *) python=$(bash scripts/find-python.sh "${python#python}") ;;  # python3.8 as pyenv has it
esac
tag=$("$python" -c 'import sys, platform; print("%s-%d.%d" % (platform.python_implementation().lower(), *sys.version_info[:2]))')
venv=".venv/$tag"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[${EXTRAS:-test}]"
if [ -n "${COVERAGE:-}" ]; then
    "$venv/bin/python" -m coverage erase
    "$venv/bin/python" -bb -W error -m coverage run -m pytest "$@"
    exec "$venv/bin/python" -m coverage report
fi
exec "$venv/bin/python" -bb -W error -m pytest "$@"
