# SPDX-License-Identifier: MIT
"""Peak memory of one legal event at the decoder's limit, by shape (issue 18, item 13).

Run from the project root (standard library only; CPython, which has
tracemalloc)::

    python benchmarks/event_memory.py             # a 1 MiB limit
    python benchmarks/event_memory.py --limit 16777216

``benchmarks/hostile.py`` prints the same table after its timings.  Each
stream holds one event (or, for ``id`` lines, IDs) at the limit, cut into 64 KiB
and 1 KiB chunks and decoded by ``feed``, ``iter_events`` and ``aiter_events``;
the table gives tracemalloc's peak as a multiple of the limit.  The peak
includes the event's text, which CPython holds at up to 4 bytes a character.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tracemalloc
from typing import AsyncIterator, Callable, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from sse_core import Decoder

MiB = 1024 * 1024

#: (name, the stream for a limit n)
SHAPES: List[Tuple[str, Callable[[int], bytes]]] = [
    ("ASCII", lambda n: b"data: " + b"x" * (n - 7) + b"\n\n"),
    ("2-byte characters", lambda n: b"data: " + "é".encode() * ((n - 7) // 2) + b"\n\n"),
    ("4-byte characters", lambda n: b"data: " + "😀".encode() * ((n - 7) // 4) + b"\n\n"),
    (
        "invalid UTF-8 and one 4-byte character",
        lambda n: b"data: " + b"\xff" * (n - 11) + "😀".encode() + b"\n\n",
    ),
    ("8 maximal id lines", lambda n: (b"id: " + b"x" * (n - 4) + b"\n") * 8 + b"data: x\n\n"),
]


def _decode(driver: str, limit: int, chunks: List[bytes]) -> int:
    decoder = Decoder(max_event_size=limit)
    if driver == "feed":
        count = sum(len(decoder.feed(chunk)) for chunk in chunks)
        decoder.close()
        return count
    if driver == "iter_events":
        return sum(1 for _ in decoder.iter_events(chunks))

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def take() -> int:
        return len([event async for event in decoder.aiter_events(source())])

    return asyncio.run(take())


def peak(driver: str, limit: int, chunks: List[bytes]) -> int:
    tracemalloc.start()
    try:
        assert _decode(driver, limit, chunks) == 1
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def report(limit: int = MiB) -> None:
    drivers = ("feed", "iter_events", "aiter_events")
    print(f"peak memory for one legal event at max_event_size = {limit} bytes (x the limit)")
    print(f"{'shape':40} {'chunk':>6} " + " ".join(f"{d:>12}" for d in drivers))
    for name, make in SHAPES:
        stream = make(limit)
        for size in (64 * 1024, 1024):
            chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
            peaks = [peak(driver, limit, chunks) / limit for driver in drivers]
            print(f"{name:40} {size:>6} " + " ".join(f"{p:>11.2f}x" for p in peaks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=MiB, help="max_event_size in bytes")
    report(parser.parse_args().limit)


if __name__ == "__main__":
    main()
