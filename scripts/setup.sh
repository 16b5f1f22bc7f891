#!/usr/bin/env bash
# Install what the tests need besides Python packages: `bash scripts/setup.sh [PYTHON...]`.
#
# scripts/test.sh runs it before every run (with its interpreter) and .ci/run
# once up front (with pypy3 too), so it must stay idempotent and quick: when
# everything is present it only looks, and prints nothing.  What is missing
# it installs with apt-get (as root) and npm; when it cannot (not root, no
# apt-get), it says what to install and goes on, and the tests that need the
# missing tool fail saying the same.
#
# Each PYTHON named (a command such as python3 or pypy3) must be able to make a
# virtual environment; Debian ships the venv module apart (python3-venv,
# pypy3-venv), so a bare name missing either gets NAME and NAME-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
need() {  # need COMMAND PACKAGE...: the Debian PACKAGEs, unless COMMAND is on PATH
    command -v "$1" >/dev/null 2>&1 || missing+=("${@:2}")
}

# The system packages the tests need, one row each; add new ones here.
need chromium chromium  # headless Chromium loads the demo page (tests/_cdp.py)
need node nodejs        # Node runs the npm eventsource client (tests/test_node.py)
need npm npm            # npm installs that client (npm ci, below)
need redis-server redis-server  # the Redis broadcaster's tests (tests/_redis.py)

for python in "$@"; do
    case "$python" in
        */*) path=$python ;;
        # A name: on PATH, or (pyenv's shims run only its global version) pyenv's.
        *) path=$(bash scripts/find-python.sh "${python#python}" 2>/dev/null) || path=$python ;;
    esac
    if ! "$path" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        case "$python" in
            */*) echo "setup: $python cannot make a virtual environment (no venv or ensurepip module)" >&2
                 exit 1 ;;
            *) missing+=("$python" "$python-venv") ;;
        esac
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: apt-get install ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Wait for another apt-get (another checkout's tests, say) to finish.
        lock=(-o DPkg::Lock::Timeout=600)
        if ! log=$({ apt-get "${lock[@]}" update -qq &&
                    apt-get "${lock[@]}" install -y -qq "${missing[@]}"; } 2>&1); then
            echo "$log" >&2
            echo "setup: apt-get could not install ${missing[*]}" >&2
            exit 1
        fi
    else
        echo "setup: missing system packages; the tests that need them will fail." >&2
        echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
        echo "setup: (or run 'bash scripts/setup.sh' as root)" >&2
    fi
fi

# The npm eventsource client, at the versions package-lock.json pins: again
# whenever the lock file is newer than the last install (npm writes its own
# copy into node_modules).
node_dir=tests/node
if [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "setup: npm ci in $node_dir" >&2
        (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            echo "setup: npm ci failed in $node_dir; tests/test_node.py fails until it works" >&2
    else
        echo "setup: no npm to install $node_dir's packages; then run: (cd $node_dir && npm ci)" >&2
    fi
fi
