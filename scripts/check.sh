#!/usr/bin/env bash
# Static checks: ruff (lint and format) and mypy --strict on the package and tests.
# `bash scripts/check.sh`; $PYTHON picks the interpreter for the tool venv.
# CI uses Python 3.8, so that the test dependencies mypy reads parse as 3.8
# code, the version mypy checks against (python_version in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=".venv/lint"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test,lint]"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/mypy" --strict sse_core
"$venv/bin/mypy" --strict
echo "check: ruff and mypy --strict clean"
