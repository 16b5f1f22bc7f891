#!/usr/bin/env bash
# Fuzz the core for a bounded time: `bash fuzz/run.sh [SECONDS]` (default 60),
# split evenly between the targets.  Exits non-zero if any target fails.
#
# Makes .venv/fuzz with atheris (from PyPI; its manylinux wheels have
# libFuzzer built in, so no compiler is needed) for the interpreter in $PYTHON
# (default: Python 3.11 from scripts/find-python.sh).
# If atheris cannot be installed, the targets run under their pure-Python
# fallback driver instead (fuzz/_harness.py), and the script says so.
#
# The seed corpora in fuzz/corpus/ are read, never written: new inputs go to
# .venv/fuzz/corpus/<target>/, failing inputs to .venv/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
python=${PYTHON:-$(bash scripts/find-python.sh 3.11)}
venv=.venv/fuzz
targets=(decoder roundtrip)
per_target=$(( seconds / ${#targets[@]} ))
if [ "$per_target" -lt 1 ]; then per_target=1; fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import atheris' 2>/dev/null; then
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "atheris>=2.3"; then
        echo "fuzz: atheris did not install; using the pure-Python fallback driver" >&2
        export FUZZ_FALLBACK=1
    fi
fi

mkdir -p "$venv/artifacts"
status=0
for target in "${targets[@]}"; do
    work="$venv/corpus/$target"
    mkdir -p "$work"
    echo "=== fuzz/fuzz_$target.py for ${per_target}s"
    # -timeout: any single input taking 10 s counts as a hang; -rss_limit_mb
    # bounds memory; -max_len keeps inputs small enough to check every chunking.
    set +e
    "$venv/bin/python" "fuzz/fuzz_$target.py" "$work" "fuzz/corpus/$target" \
        -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$venv/artifacts/$target-" 2>&1 \
        | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
    code=${PIPESTATUS[0]}
    set -e
    if [ "$code" -ne 0 ]; then
        echo "fuzz: fuzz_$target.py FAILED (exit $code); the input is in $venv/artifacts/" >&2
        status=1
    fi
done
exit "$status"
