# SPDX-License-Identifier: MIT
"""What a chunk costs a decoder, apart from the events in it.

A pass over a stream costs about the same per event and byte at any chunking,
plus a cost per chunk.  This script decodes one workload cut into chunks of
64 KiB, 8 KiB, 1 KiB and 256 bytes, and at random 1-200 bytes, with each
decoder, and reports what each smaller chunking adds per extra chunk, against
64 KiB chunks (where the chunks' own cost is negligible).

For the issue's small chunkings it then derives the time per extra chunk that a
target ratio to the fastest correct peer leaves sse_core once its 64 KiB time
is paid, and the ratio a decoder as costly per event as sse_core would reach
with a baseline's cost per chunk.  Two baselines, neither a parser:
``floor iter`` only cuts lines at LF and builds one event per blank line;
``floor iter+checks`` adds what sse_core's rules leave no decoder free to skip
on a chunk (its type, a CR search, the CR that ends a chunk, the held line's
limit).  When the budget is smaller than a baseline's cost per chunk, no
decoder with sse_core's cost per event can meet the target, however little it
does per chunk.

Run: ``python benchmarks/chunk_cost.py [--workload multiline] [--target 2.0]``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads
from benchmarks.peers import DECODERS, SkipPeer

#: (label, chunk size in bytes, or None for the suite's random 1-200 bytes)
CUTS: List[Tuple[str, Optional[int]]] = [
    ("64KiB", 65536),
    ("8KiB", 8192),
    ("1KiB", 1024),
    ("256B", 256),
    ("random", None),
]
OURS = "sse_core iter"
CHECKED = "floor iter+checks"
NAMES = ("sse_core iter", "sse_core", "floor iter", CHECKED, "launchdarkly", "httpx-sse")
BASELINES = ("floor iter", CHECKED)
TARGETED = ("1KiB", "random")  # the small chunkings


def cut(stream: bytes, size: Optional[int]) -> List[bytes]:
    if size is None:
        return workloads.chunk(stream, "random")
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def best_seconds(
    decode: Callable[[List[bytes]], object], chunks: List[bytes], repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        decode(chunks)
        best = min(best, time.process_time() - start)
    return best


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="multiline", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--target", type=float, default=2.0, help="ratio to the fastest peer")
    parser.add_argument("--size", type=int, default=4_200_000, help="stream size in bytes")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best is kept")
    args = parser.parse_args(argv)

    stream = workloads.make(args.workload, args.size)
    cuts = [(label, cut(stream, size)) for label, size in CUTS]
    loaders = {peer.name: peer.load for peer in DECODERS}
    decoders = {}
    for name in NAMES:
        try:
            decoders[name] = loaders[name]()
        except SkipPeer:
            continue
    expected = decoders[OURS](cuts[0][1])
    events = len(expected)

    gc.disable()
    try:
        seconds: Dict[str, List[float]] = {name: [] for name in decoders}
        for _, chunks in cuts:
            for name, decode in decoders.items():
                seconds[name].append(best_seconds(decode, chunks, args.repeat))
    finally:
        gc.enable()

    print(
        f"{platform.python_implementation()} {platform.python_version()}: {args.workload}, "
        f"{len(stream):,} bytes, {events:,} events: ms per pass, and what each chunking"
        " adds per extra chunk against 64 KiB chunks (ns)"
    )
    base_chunks = len(cuts[0][1])

    def per_chunk(name: str, index: int) -> float:
        extra = len(cuts[index][1]) - base_chunks
        return (seconds[name][index] - seconds[name][0]) / extra

    header = ["decoder", *(label for label, _ in cuts), *(f"+{label}" for label, _ in cuts[1:])]
    rows = [
        [
            name,
            *(f"{spent * 1e3:.1f}" for spent in seconds[name]),
            *(f"{per_chunk(name, index) * 1e9:.0f}" for index in range(1, len(cuts))),
        ]
        for name in decoders
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.rjust(width) for cell, width in zip(row, widths)]
        cells[0] = row[0].ljust(widths[0])
        print("  ".join(cells))

    # Peers whose events are sse_core's (the suite checks those against the spec).
    peers = [
        name
        for name in decoders
        if name not in (OURS, "sse_core", *BASELINES) and decoders[name](cuts[0][1]) == expected
    ]
    if not peers:
        return 0
    print(f"\nTarget {args.target}x the fastest of {', '.join(peers)}:")
    for index, (label, chunks) in enumerate(cuts):
        if label not in TARGETED:
            continue
        fastest = min(peers, key=lambda name: seconds[name][index])
        allowed = seconds[fastest][index] / args.target
        extra = len(chunks) - base_chunks
        budget = (allowed - seconds[OURS][0]) / extra
        print(
            f"  {label}: {fastest} takes {seconds[fastest][index] * 1e3:.1f} ms, so {OURS}"
            f" may take {allowed * 1e3:.1f} ms; after its {seconds[OURS][0] * 1e3:.1f} ms at"
            f" 64KiB, that leaves {budget * 1e9:.0f} ns per extra chunk ({OURS} spends"
            f" {per_chunk(OURS, index) * 1e9:.0f}, floor iter"
            f" {per_chunk('floor iter', index) * 1e9:.0f}, {CHECKED}"
            f" {per_chunk(CHECKED, index) * 1e9:.0f})"
        )
        # A decoder as costly per event as sse_core, whose chunks cost no more
        # than a baseline's: the best it could do at this chunking.
        bounds = []
        for name in BASELINES:
            at_best = seconds[OURS][0] + per_chunk(name, index) * extra
            bounds.append(f"{name} {seconds[fastest][index] / at_best:.2f}x")
        print(f"    with {OURS}'s 64KiB time and the chunk cost of {', '.join(bounds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
