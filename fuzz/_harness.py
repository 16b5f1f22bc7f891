# SPDX-License-Identifier: MIT
"""What the fuzz targets share: the import of the code under test, and the driver.

Each target is a script with a ``check(data: bytes) -> None`` function that
raises (an ``AssertionError`` or any unexpected exception) when a property
fails.  :func:`main` runs it under atheris (libFuzzer) when atheris is
installed, with ``sse_core`` instrumented for coverage feedback; without
atheris it runs a small pure-Python driver (seeded random mutations of the
seed corpus) so that the checks still run anywhere.  Either way, the command
line follows libFuzzer's: corpus directories, ``-max_total_time=SECONDS``,
``-runs=N``, and file arguments to replay single inputs.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, List, Optional

ROOT = Path(__file__).resolve().parent.parent
# The project root, for sse_core (as checked out, not an installed copy) and
# for the reference model in tests/reference.py.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    import atheris  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    atheris = None

if atheris is not None:
    # Instrument the package (only it) so libFuzzer sees its branches.  This
    # module is imported before the targets import sse_core themselves.
    with atheris.instrument_imports(include=["sse_core"]):
        import sse_core  # noqa: F401

Check = Callable[[bytes], None]


def _option(args: List[str], name: str) -> Optional[int]:
    for arg in args:
        if arg.startswith(f"-{name}="):
            return int(arg.split("=", 1)[1])
    return None


def _mutate(rng: random.Random, data: bytes, corpus: List[bytes]) -> bytes:
    """One random edit: flip, insert, delete, duplicate or splice."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        pos = rng.randint(0, len(buf))
        if kind == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif kind == 1:
            token = rng.choice([b"\n", b"\r", b"\r\n", b":", b" ", b"data", b"id", b"retry"])
            buf[pos:pos] = token
        elif kind == 2:
            buf[pos:pos] = bytes([rng.randrange(256)])
        elif kind == 3 and buf:
            del buf[pos : pos + rng.randint(1, 8)]
        elif kind == 4 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 32)]
        else:
            other = rng.choice(corpus)
            buf[pos:pos] = other[: rng.randint(0, len(other))]
    return bytes(buf[:4096])


def _fallback(check: Check, args: List[str]) -> int:
    """A pure-Python driver: random mutations of the corpus for a bounded time."""
    seconds = _option(args, "max_total_time")
    runs = _option(args, "runs")
    paths = [Path(arg) for arg in args if not arg.startswith("-")]
    files = [p for p in paths if p.is_file()]
    for directory in (p for p in paths if p.is_dir()):
        files += sorted(f for f in directory.iterdir() if f.is_file())
    corpus = [f.read_bytes() for f in files] or [b""]
    if files and all(p.is_file() for p in paths):
        seconds, runs = None, 0  # replay the given files only
    rng = random.Random(int(os.environ.get("FUZZ_SEED", "0")))
    deadline = time.monotonic() + (seconds if seconds is not None else 10)
    count = 0
    queue = list(corpus)
    try:
        while True:
            if queue:
                data = queue.pop()
            elif (runs is not None and count >= runs + len(corpus)) or time.monotonic() > deadline:
                break
            else:
                data = _mutate(rng, rng.choice(corpus), corpus)
            count += 1
            check(data)
    except BaseException:
        crash = Path(f"crash-fallback-{count}")
        crash.write_bytes(data)
        traceback.print_exc()
        print(f"fallback driver: failure after {count} runs; input saved to {crash}")
        return 1
    print(f"fallback driver: {count} runs, no failures")
    return 0


def main(check: Check) -> None:
    """Fuzz ``check`` with atheris if it is installed, else with the fallback."""
    if atheris is None or os.environ.get("FUZZ_FALLBACK"):
        raise SystemExit(_fallback(check, sys.argv[1:]))
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
