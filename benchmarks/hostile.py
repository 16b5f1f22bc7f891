# SPDX-License-Identifier: MIT
"""Time the decoder on hostile stream shapes at growing sizes, to show linear cost.

Run from the project root (standard library only)::

    python benchmarks/hostile.py           # full sizes, about a minute
    python benchmarks/hostile.py --quick   # a quarter of the sizes

Each shape is fed at two or three sizes, each four times the last.  The table
gives the best of a few runs, the throughput in MB/s of input, and the growth
exponent between consecutive sizes: log(t2 / t1) / log(n2 / n1), which is 1.0
for linear time and 2.0 for quadratic.  Timings include only ``feed`` and
``close`` calls; the chunks are cut before the clock starts.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from typing import Callable, List, NamedTuple, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks import event_memory
from sse_core import DEFAULT_MAX_EVENT_SIZE, Decoder, RemoteProtocolError

KiB = 1024
MiB = 1024 * KiB

INVALID_UTF8 = (
    b"\x80\xbf\xc0\xaf\xc1\xbf\xe0\x80\xaf\xf0\x80\x80\xaf\xed\xa0\x80\xed\xbf\xbf"
    b"\xf4\x90\x80\x80\xf5\x80\x80\x80\xf8\x88\x80\x80\x80\xfe\xff\xc3\xe2\x82\xf0\x9f\x98"
)


class Shape(NamedTuple):
    name: str
    prefix: bytes
    unit: bytes
    chunk: int  # bytes per feed call
    sizes: List[int]  # stream sizes in bytes
    limit: Callable[[int], Optional[int]]  # max_event_size for a stream size
    suffix: bytes = b""


def unlimited(size: int) -> Optional[int]:
    return None


def just_above(size: int) -> Optional[int]:
    return size + 16


SHAPES = [
    Shape("endless line, 1 B chunks", b"data: ", b"x", 1, [256 * KiB, MiB, 4 * MiB], just_above),
    Shape("endless line, 1 KiB chunks", b"data: ", b"x", KiB, [4 * MiB, 16 * MiB], just_above),
    Shape(
        "100 MB line, 1 MiB chunks", b"data: ", b"x", MiB, [25 * MiB, 100 * MiB], unlimited, b"\n\n"
    ),
    Shape(
        "short data lines, no blank", b"", b"data: ab\n", KiB, [MiB, 4 * MiB, 16 * MiB], unlimited
    ),
    Shape("short data lines, 1 B chunks", b"", b"data: ab\n", 1, [256 * KiB, MiB], unlimited),
    Shape(
        "tiny events (9 B each)",
        b"",
        b"data: x\n\n",
        64 * KiB,
        [3 * MiB, 12 * MiB, 48 * MiB],
        unlimited,
    ),
    Shape("tiny events, 1 B chunks", b"", b"data: x\n\n", 1, [256 * KiB, MiB], unlimited),
    Shape("CR storm", b"", b"\r", 64 * KiB, [4 * MiB, 16 * MiB, 64 * MiB], unlimited),
    Shape("CR storm, 1 B chunks", b"", b"\r", 1, [256 * KiB, MiB], unlimited),
    Shape("CRLF split by chunks", b"", b"data: x\r\n\r\n", 8, [MiB, 4 * MiB], unlimited),
    Shape(
        "every byte value",
        b"",
        bytes(range(256)),
        64 * KiB,
        [4 * MiB, 16 * MiB, 64 * MiB],
        unlimited,
    ),
    Shape(
        "invalid UTF-8 lines", b"", INVALID_UTF8 + b"\n", 64 * KiB, [4 * MiB, 16 * MiB], unlimited
    ),
    Shape(
        "invalid UTF-8 events",
        b"",
        b"data: " + INVALID_UTF8 + b"\n\n",
        64 * KiB,
        [4 * MiB, 16 * MiB],
        unlimited,
    ),
    Shape(
        "BOM mid-stream lines",
        b"",
        b"\xef\xbb\xbfdata: x\n\n",
        64 * KiB,
        [4 * MiB, 16 * MiB],
        unlimited,
    ),
    Shape("NUL lines", b"", b"data: \0\0\0\n\n", 64 * KiB, [4 * MiB, 16 * MiB], unlimited),
]


def build(shape: Shape, size: int) -> List[bytes]:
    stream = shape.prefix + shape.unit * ((size - len(shape.prefix)) // len(shape.unit))
    stream += shape.suffix
    return [stream[i : i + shape.chunk] for i in range(0, len(stream), shape.chunk)]


def run_once(chunks: List[bytes], limit: Optional[int]) -> float:
    decoder = Decoder(max_event_size=limit)
    feed = decoder.feed
    start = time.perf_counter()
    for chunk in chunks:
        feed(chunk)
    decoder.close()
    return time.perf_counter() - start


def best_of(chunks: List[bytes], limit: Optional[int], budget: float = 1.5) -> float:
    """Best time of up to 5 runs, fewer when a run is slow."""
    times = [run_once(chunks, limit)]
    while len(times) < 5 and sum(times) < budget:
        times.append(run_once(chunks, limit))
    return min(times)


def time_to_limit_error(size: int) -> float:
    """Seconds until a 100 MB line meets the default limit, fed in 1 MiB chunks."""
    block = b"x" * MiB
    decoder = Decoder()
    start = time.perf_counter()
    try:
        decoder.feed(b"data: ")
        for _ in range(size // MiB):
            decoder.feed(block)
    except RemoteProtocolError:
        return time.perf_counter() - start
    raise AssertionError("the default limit did not stop the line")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    args = parser.parse_args()
    scale = 4 if args.quick else 1
    print(f"{platform.python_implementation()} {platform.python_version()}")
    print(f"{'shape':32} {'chunk':>7} {'size':>9} {'seconds':>8} {'MB/s':>8} {'exponent':>8}")
    for shape in SHAPES:
        previous = None
        for size in shape.sizes:
            size //= scale
            chunks = build(shape, size)
            fed = sum(map(len, chunks))
            seconds = best_of(chunks, shape.limit(size))
            del chunks
            exponent = ""
            if previous is not None:
                exponent = f"{math.log(seconds / previous[1]) / math.log(fed / previous[0]):.2f}"
            previous = (fed, seconds)
            print(
                f"{shape.name:32} {shape.chunk:>7} {fed / MiB:>7.2f}Mi {seconds:>8.3f}"
                f" {fed / seconds / 1e6:>8.1f} {exponent:>8}"
            )
    seconds = time_to_limit_error(100 * MiB)
    print(
        f"a 100 MB line against the default limit ({DEFAULT_MAX_EVENT_SIZE // MiB} MiB):"
        f" RemoteProtocolError after {seconds * 1000:.1f} ms"
    )
    if platform.python_implementation() == "CPython":  # PyPy has no tracemalloc
        print()
        event_memory.report()


if __name__ == "__main__":
    main()
