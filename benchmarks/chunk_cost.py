# SPDX-License-Identifier: MIT
"""What a chunk costs a decoder, apart from the events in it.

A pass over a stream costs about the same per event and byte at any chunking,
plus a cost per chunk.  This script decodes one workload cut into chunks of
64 KiB, 8 KiB, 1 KiB and 256 bytes, and at random 1-200 bytes, with each
decoder, and fits ``time = fixed + per_chunk x chunks`` to the passes.

From the fastest correct peer's time at a chunking and a target ratio it then
derives the time per chunk that the target leaves sse_core once its fixed part
is paid.  When that budget is smaller than what the ``floor iter`` baseline (not
a parser: it only cuts lines and builds one event per blank line) spends on a
chunk, no decoder with sse_core's cost per event can meet the target, however
little it does per chunk.

Run: ``python benchmarks/chunk_cost.py [--workload multiline] [--target 2.0]``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

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
NAMES = ("sse_core iter", "sse_core", "floor iter", "launchdarkly", "httpx-sse")
OURS = "sse_core iter"
TARGETED = ("1KiB", "random")  # the small chunkings


def cut(stream: bytes, size: Optional[int]) -> List[bytes]:
    if size is None:
        return workloads.chunk(stream, "random")
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def best_seconds(decode: object, chunks: List[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        decode(chunks)  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def fit(points: List[Tuple[int, float]]) -> Tuple[float, float]:
    """Least squares ``seconds = fixed + per_chunk * chunks``."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    per_chunk = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return mean_y - per_chunk * mean_x, per_chunk


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="multiline", choices=sorted(workloads.WORKLOADS))
    parser.add_argument("--target", type=float, default=2.0, help="ratio to the fastest peer")
    parser.add_argument("--size", type=int, default=4_200_000, help="stream size in bytes")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best is kept")
    args = parser.parse_args(argv)

    stream = workloads.make(args.workload, args.size)
    cuts = [(label, cut(stream, size)) for label, size in CUTS]
    peers_by_name = {peer.name: peer for peer in DECODERS}
    decoders = {}
    for name in NAMES:
        try:
            decoders[name] = peers_by_name[name].load()
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
        f"{len(stream):,} bytes, {events:,} events; ms per pass, then the fit"
    )
    header = ["decoder", *(label for label, _ in cuts), "fixed ms", "ns/event", "ns/chunk"]
    rows = []
    fits = {}
    for name in decoders:
        fixed, per_chunk = fits[name] = fit(
            [(len(chunks), spent) for (_, chunks), spent in zip(cuts, seconds[name])]
        )
        rows.append(
            [
                name,
                *(f"{spent * 1e3:.1f}" for spent in seconds[name]),
                f"{fixed * 1e3:.1f}",
                f"{fixed / events * 1e9:.0f}",
                f"{per_chunk * 1e9:.0f}",
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.rjust(width) for cell, width in zip(row, widths)]
        cells[0] = row[0].ljust(widths[0])
        print("  ".join(cells))

    # Peers whose events are sse_core's (the suite checks those against the spec).
    peers = [
        name
        for name in decoders
        if name not in (OURS, "sse_core", "floor iter") and decoders[name](cuts[0][1]) == expected
    ]
    if not peers:
        return 0
    print(f"\nTarget {args.target}x the fastest of {', '.join(peers)}:")
    for index, (label, chunks) in enumerate(cuts):
        if label not in TARGETED:
            continue
        fastest = min(peers, key=lambda name: seconds[name][index])
        allowed = seconds[fastest][index] / args.target
        budget = (allowed - fits[OURS][0]) / len(chunks)
        print(
            f"  {label}: {fastest} takes {seconds[fastest][index] * 1e3:.1f} ms, so "
            f"{OURS} may take {allowed * 1e3:.1f} ms; its fixed part leaves "
            f"{budget * 1e9:.0f} ns for each of {len(chunks):,} chunks "
            f"({OURS} spends {fits[OURS][1] * 1e9:.0f}, floor iter "
            f"{fits['floor iter'][1] * 1e9:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
