# SPDX-License-Identifier: MIT
"""What the async hand-over alone costs, and the best ratio it leaves
``aiter_events()`` against ``iter_events()``.

An async iterator of chunks costs an awaited step per chunk, and an async
iterator of events an awaited step per event, whatever decodes in between.
This script times, on the suite's workloads and chunkings:

- ``iter``: ``Decoder().iter_events(chunks)``, run to its end;
- ``source``: an ``async for`` over the suite's async generator of the chunks
  (the one the ``sse_core aiter`` row reads), doing nothing with them;
- ``hand-over``: an ``async for`` over an async generator re-yielding the
  events, already decoded;
- ``aiter``: ``Decoder().aiter_events(<that async generator of the chunks>)``.

No async decoder can cost less than ``iter + source + hand-over`` (they are
all run, in the same way, without an event loop), so ``iter / (iter + source
+ hand-over)`` bounds the ratio any ``aiter_events`` can reach to
``iter_events``: where the bound is below the issue's 0.90, the target is out
of reach of any design.

Run: ``python benchmarks/async_cost.py [--only llm,heartbeat] [--chunking random,1byte]``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Coroutine, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads
from sse_core import Decoder, Event


async def _chunk_source(chunks: Sequence[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _event_source(events: Sequence[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


def _complete(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine whose async iterators never wait, without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine waited for something")


def _iter(chunks: Sequence[bytes]) -> List[Event]:
    return list(Decoder().iter_events(chunks))


def _source(chunks: Sequence[bytes]) -> None:
    async def run() -> None:
        async for _chunk in _chunk_source(chunks):
            pass

    _complete(run())


def _hand_over(events: Sequence[Event]) -> None:
    async def run() -> None:
        async for _event in _event_source(events):
            pass

    _complete(run())


def _aiter(chunks: Sequence[bytes]) -> List[Event]:
    async def run() -> List[Event]:
        return [event async for event in Decoder().aiter_events(_chunk_source(chunks))]

    return _complete(run())  # type: ignore[no-any-return]


def _best(runs: Sequence[Tuple[Callable[[Any], object], Any]], repeat: int) -> List[float]:
    """The best time of each run, taken in turn (so that a slow spell of a
    shared machine spreads over all of them)."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for index, (run, argument) in enumerate(runs):
            start = time.process_time()
            run(argument)
            best[index] = min(best[index], time.process_time() - start)
    return best


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="llm,large_json,multiline,heartbeat")
    parser.add_argument("--chunking", default="64KiB,1KiB,random,1byte")
    parser.add_argument("--size", type=int, default=2_000_000, help="stream size in bytes")
    parser.add_argument("--byte-size", type=int, default=200_000, help="bytes fed in 1-byte chunks")
    parser.add_argument("--repeat", type=int, default=7, help="passes; the best is kept")
    args = parser.parse_args(argv)

    interpreter = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"{interpreter}; ms per pass, best of {args.repeat}")
    header = (
        f"{'cell':22} {'iter':>8} {'source':>8} {'hand-over':>9} {'aiter':>8}"
        f" {'bound':>6} {'aiter/iter':>10}"
    )
    print(header)
    print("-" * len(header))
    for workload in args.only.split(","):
        for chunking in args.chunking.split(","):
            size = args.byte_size if chunking == "1byte" else args.size
            chunks = workloads.chunk(workloads.make(workload, size), chunking)
            events = _iter(chunks)
            if _aiter(chunks) != events:
                raise AssertionError(
                    f"aiter_events and iter_events disagree on {workload}/{chunking}"
                )
            iterating, source, hand_over, aiterating = _best(
                [(_iter, chunks), (_source, chunks), (_hand_over, events), (_aiter, chunks)],
                args.repeat,
            )
            bound = iterating / (iterating + source + hand_over)
            print(
                f"{workload + ' / ' + chunking:22} {iterating * 1e3:8.2f} {source * 1e3:8.2f}"
                f" {hand_over * 1e3:9.2f} {aiterating * 1e3:8.2f} {bound:6.2f}"
                f" {iterating / aiterating:10.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
