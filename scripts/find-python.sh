#!/usr/bin/env bash
# Print the path of an interpreter for a version such as 3.8 or pypy3:
# `bash scripts/find-python.sh 3.8`.  Looks on PATH, then in pyenv's versions
# (pyenv shims only answer for the global version, so they are not enough).
set -euo pipefail
want=$1
case "$want" in
    pypy*) candidates=("$want") ;;
    *) candidates=("python$want") ;;
esac
for name in "${candidates[@]}"; do
    if path=$(command -v "$name" 2>/dev/null) && "$path" -c '' 2>/dev/null; then
        echo "$path"; exit 0
    fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
    if [ -x "$dir/bin/python$want" ]; then
        echo "$dir/bin/python$want"; exit 0
    fi
done
echo "find-python: no interpreter for $want" >&2
exit 1
