# SPDX-License-Identifier: MIT
"""What one ``feed()`` call costs, by the kind of chunk it gets.

With small chunks, throughput is set by a fixed cost per call rather than per
byte.  This script times ``Decoder().feed(chunk)`` for the chunk shapes that
dominate small-chunk streams, next to the ``floor`` baseline of the benchmark
suite (the least an incremental decoder does; not a parser), and prints
nanoseconds per call.  The difference is what the spec's rules cost on top of
splitting lines and building one object per event: the line-length and event
size limits, field dispatch, and the state kept between chunks.

Run: ``python benchmarks/per_call.py [--number N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import Floor
from sse_core import Decoder

TOKEN = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",'
    b'"choices":[{"delta":{"content":" hi"}}]}'
)

#: (label, chunk, whether the floor can decode it)
SHAPES = [
    ("ends no line (middle of an event)", TOKEN[:40], True),
    ("one whole data-only event", TOKEN + b"\n\n", True),
    ("the end of one event and the start of the next", TOKEN[40:] + b"\n\n" + TOKEN[:40], True),
    (
        "one multi-line event (event, id, 4 data lines)",
        b"event: update\nid: 42\n" + b"data: some words of text\n" * 4 + b"\n",
        False,
    ),
]


def per_call(make: Callable[[], Any], chunk: bytes, number: int, repeat: int) -> float:
    """Best nanoseconds per ``feed(chunk)``, on a fresh decoder for each timing."""
    best = float("inf")
    for _ in range(repeat):
        feed = make().feed
        seconds = timeit.timeit(lambda feed=feed: feed(chunk), number=number)
        best = min(best, seconds / number)
    return best * 1e9


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=100_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings; the best is kept")
    args = parser.parse_args(argv)
    print(f"{platform.python_implementation()} {platform.python_version()}: ns per call")
    rows: List[List[str]] = []
    for label, chunk, floor_can in SHAPES:
        # No limit: a decoder fed only the middle of a line holds all of it.
        ours = per_call(lambda: Decoder(max_event_size=None), chunk, args.number, args.repeat)
        floor = per_call(Floor, chunk, args.number, args.repeat) if floor_can else None
        rows.append(
            [label, f"{ours:.0f}", "-" if floor is None else f"{floor:.0f}", f"{len(chunk)} B"]
        )
    header = ["chunk", "sse_core", "floor", "size"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.rjust(width) for cell, width in zip(row, widths)]
        cells[0] = row[0].ljust(widths[0])
        print("  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
