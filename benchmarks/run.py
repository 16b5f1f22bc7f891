# SPDX-License-Identifier: MIT
"""The benchmark runner: times every decoder and encoder and checks their output.

``python -m benchmarks --help`` lists the options; ``benchmarks/README.md``
explains the method.  In one process it runs, in order:

1. the correctness vectors (each rule, every chunking) for every decoder;
2. decoding: every workload x chunking x decoder, timed, with each decoder's
   events compared with the reference model of the spec;
3. growth: one large event fed one byte at a time, at several sizes, with the
   fitted exponent of time against size;
4. encoding: events/s for every encoder, its output decoded back and checked;
5. a summary of sse_core against the targets of issue 7.

Timings are informational: the exit status is non-zero only when the suite
itself breaks (sse_core failing to load, or a bad option), never because of
speed or a peer's wrong output.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

if __package__ in (None, ""):  # run as `python benchmarks/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import workloads
from benchmarks.crosscheck import VECTORS, check_vector, explain
from benchmarks.peers import DECODERS, ENCODERS, Peer, SkipPeer
from benchmarks.reference import EventTriple, reference_events

# -- options -----------------------------------------------------------------


class Settings:
    """Sizes and repetitions for one run (full mode unless --quick)."""

    def __init__(self, args: argparse.Namespace) -> None:
        quick = args.quick
        self.quick = quick
        self.size = args.size or (48 * 1024 if quick else 4 * 1024 * 1024)
        self.byte_size = args.byte_size or (4 * 1024 if quick else 256 * 1024)
        self.repeat = args.repeat or (1 if quick else 3)
        # Stop repeating a cell once this much time went into it.
        self.cell_budget = 0.5 if quick else 4.0
        self.cap = args.cap or (5.0 if quick else 30.0)
        self.growth_sizes = (
            [1_000, 3_000, 10_000] if quick else [10_000, 30_000, 100_000, 300_000, 1_000_000]
        )
        self.encode_events = args.encode_events or (500 if quick else 100_000)
        self.workloads = _pick(args.only, list(workloads.WORKLOADS), "workload")
        self.chunkings = _pick(args.chunking, list(workloads.CHUNKINGS), "chunking")
        self.sections = _pick(args.sections, list(SECTIONS), "section")
        self.peers = args.peers


SECTIONS = ("vectors", "decode", "growth", "encode", "targets")


def _pick(value: Optional[str], choices: List[str], what: str) -> List[str]:
    if not value:
        return choices
    picked = [v.strip() for v in value.split(",") if v.strip()]
    for name in picked:
        if name not in choices:
            raise SystemExit(f"unknown {what} {name!r}; choose from {', '.join(choices)}")
    return picked


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time sse_core against other Python SSE libraries on the same bytes,"
        " and check that they all decode the same events.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny workloads and one pass: seconds (CI)"
    )
    parser.add_argument(
        "--only",
        metavar="WORKLOAD",
        help="comma-separated workloads: " + ", ".join(workloads.WORKLOADS),
    )
    parser.add_argument(
        "--chunking",
        metavar="NAME",
        help="comma-separated chunkings: " + ", ".join(workloads.CHUNKINGS),
    )
    names = [p.name for p in DECODERS + ENCODERS]
    parser.add_argument(
        "--peers",
        metavar="NAMES",
        help="comma-separated libraries to run (default: all installed); names: "
        + ", ".join(names)
        + ". sse_core rows always run.",
    )
    parser.add_argument(
        "--sections", metavar="NAMES", help="comma-separated parts to run: " + ", ".join(SECTIONS)
    )
    parser.add_argument(
        "--repeat", type=int, metavar="N", help="timed passes per cell (best is kept)"
    )
    parser.add_argument("--size", type=int, metavar="BYTES", help="bytes per workload")
    parser.add_argument(
        "--byte-size", type=int, metavar="BYTES", help="bytes of each workload fed in 1-byte chunks"
    )
    parser.add_argument(
        "--cap", type=float, metavar="SECONDS", help="give up on a pass after this long"
    )
    parser.add_argument("--encode-events", type=int, metavar="N", help="events per encoder pass")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="time passes in process CPU time (default; robust on a shared machine) or wall time",
    )
    parser.add_argument("--json", metavar="FILE", help="also write all results to FILE as JSON")
    return parser.parse_args(argv)


# -- timing ------------------------------------------------------------------


# The clock passes are timed with: process CPU time by default, because the
# machines this runs on are often shared and wall time then counts other
# processes' work; --clock wall switches to time.perf_counter.
CLOCK: List[Callable[[], float]] = [time.process_time]


class PassTimeout(Exception):
    """A timed pass ran past the cap."""


def _alarm(signum: int, frame: Any) -> None:
    raise PassTimeout


def timed(function: Callable[[], Any], cap: float) -> Tuple[float, Any]:
    """Run ``function`` once; (seconds, result).  Raises PassTimeout past ``cap``.

    The cap uses SIGALRM, so it works in the main thread on POSIX only;
    elsewhere passes run to the end.
    """
    use_alarm = (
        hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    gc.collect()
    # Objects alive before the pass (workloads, expected events, earlier
    # results) go to the permanent generation, so a collection triggered by the
    # pass costs the same whatever the harness happens to hold.
    freeze = getattr(gc, "freeze", None)
    if freeze is not None:
        freeze()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, cap)
    clock = CLOCK[0]
    try:
        start = clock()
        result = function()
        elapsed = clock() - start
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if freeze is not None:
            gc.unfreeze()
    return elapsed, result


class Cell:
    """One library on one workload and chunking."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.seconds: Optional[float] = None
        self.passes = 0
        self.status = "ok"  # ok | wrong | timeout | error | baseline
        self.note = ""
        self.ratio: Optional[float] = None

    def as_dict(self, size: int, count: int) -> Dict[str, Any]:
        result: Dict[str, Any] = {
            "library": self.library,
            "seconds": self.seconds,
            "passes": self.passes,
            "status": self.status,
            "note": self.note,
            "ratio_vs_fastest_correct_peer": self.ratio,
        }
        if self.seconds:
            result["mb_per_s"] = size / self.seconds / 1e6
            result["events_per_s"] = count / self.seconds
        return result


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


class Entry:
    """A library to time on one cell: what to run and how to check its result."""

    def __init__(
        self,
        library: str,
        function: Callable[[], Any],
        check: Optional[Callable[[Any], Optional[str]]],
        is_parser: bool = True,
    ) -> None:
        self.library = library
        self.function = function
        self.check = check
        self.is_parser = is_parser


def measure(entries: Sequence[Entry], settings: Settings) -> List[Cell]:
    """Best of up to ``settings.repeat`` passes of each entry.

    Passes are interleaved (one round runs every library once), so a burst of
    load from elsewhere on the machine spreads over all libraries instead of
    hitting one.  The first pass is also checked.  A library stops early when
    its passes add up to more than the cell budget, or at once when a pass
    breaks the cap or raises.
    """
    cells = [Cell(entry.library) for entry in entries]
    best = [math.inf] * len(entries)
    spent = [0.0] * len(entries)
    for number in range(settings.repeat):
        for index, entry in enumerate(entries):
            cell = cells[index]
            if cell.status in ("timeout", "error") or spent[index] > settings.cell_budget:
                continue
            try:
                seconds, result = timed(entry.function, settings.cap)
            except PassTimeout:
                cell.status = "timeout"
                cell.note = f"> {settings.cap:g} s per pass"
                continue
            except Exception as error:
                cell.status = "error"
                cell.note = f"raised {type(error).__name__}: {_one_line(error)}"[:200]
                continue
            if number == 0:
                problem = entry.check(result) if entry.check is not None else None
                if problem:
                    cell.status = "wrong"
                    cell.note = problem
                elif not entry.is_parser:
                    cell.status = "baseline"
            del result
            best[index] = min(best[index], seconds)
            spent[index] += seconds
            cell.passes += 1
    for index, cell in enumerate(cells):
        if cell.status not in ("timeout", "error"):
            cell.seconds = best[index]
    return cells


# -- output ------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))

    def line(values: Sequence[str]) -> str:
        parts = []
        for index, value in enumerate(values):
            last = index == len(values) - 1
            if right[index]:
                parts.append(value.rjust(widths[index]))
            else:
                parts.append(value if last else value.ljust(widths[index]))
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    return "\n".join(out)


def heading(text: str) -> None:
    print()
    print(text)
    print("=" * len(text))


def _fmt_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


# -- sections ----------------------------------------------------------------


def load(peers: Sequence[Peer], wanted: Optional[str]) -> List[Tuple[Peer, Any]]:
    names = None if not wanted else {n.strip() for n in wanted.split(",")}
    if names:
        known = {peer.name for peer in DECODERS + ENCODERS}
        unknown = sorted(names - known)
        if unknown:
            raise SystemExit(
                f"unknown peer {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
            )
    loaded = []
    for peer in peers:
        if names is not None and peer.name not in names and not peer.is_ours:
            continue
        try:
            loaded.append((peer, peer.load()))
        except SkipPeer as reason:
            if peer.is_ours:
                raise SystemExit(f"cannot load {peer.name}: {reason}") from None
            print(f"  skipped {peer.name}: {reason}")
    return loaded


def describe(loaded: Sequence[Tuple[Peer, Any]]) -> List[Dict[str, str]]:
    rows = []
    for peer, _ in loaded:
        version = peer.version()
        if peer.is_ours:
            import sse_core

            version = sse_core.__version__
        print(f"  {peer.name:<24} {version:<12} {peer.how}")
        rows.append({"name": peer.name, "version": version, "how": peer.how})
    return rows


def section_vectors(decoders: Sequence[Tuple[Peer, Any]]) -> Dict[str, Dict[str, Optional[str]]]:
    heading("Correctness vectors (each rule; whole, 1-byte and every 2-way split)")
    parsers = [(peer, fn) for peer, fn in decoders if peer.is_parser]
    results: Dict[str, Dict[str, Optional[str]]] = {peer.name: {} for peer, _ in parsers}
    for peer, fn in parsers:
        for vector in VECTORS:
            results[peer.name][vector.name] = check_vector(fn, vector)
    headers = ["vector"] + [peer.name for peer, _ in parsers]
    rows = []
    for vector in VECTORS:
        row = [vector.name]
        for peer, _ in parsers:
            row.append("ok" if results[peer.name][vector.name] is None else "FAIL")
        rows.append(row)
    print(table(headers, rows, [False] + [False] * len(parsers)))
    print()
    for vector in VECTORS:
        print(f"  {vector.name:<20} {vector.rule}")
    for peer, _ in parsers:
        failures = [(name, why) for name, why in results[peer.name].items() if why]
        if not failures:
            continue
        print(f"\n  {peer.name} breaks:")
        rules = {v.name: v.rule for v in VECTORS}
        for name, why in failures:
            print(f"    - {rules[name]} [{name}]")
            print(f"      {why}")
    return results


def section_decode(
    decoders: Sequence[Tuple[Peer, Any]],
    settings: Settings,
    vector_results: Dict[str, Dict[str, Optional[str]]],
) -> List[Dict[str, Any]]:
    heading(f"Decoding (MB = 10^6 bytes; best of up to {settings.repeat} passes)")
    print(
        "ratio: speed / speed of the fastest peer whose events are correct on that cell"
        " (sse_core and the limit and floor baselines are not peers)."
    )
    records: List[Dict[str, Any]] = []
    for name in settings.workloads:
        stream = workloads.make(name, settings.size)
        expected_full = reference_events(stream)
        wrong_notes: Dict[str, List[str]] = {}
        for chunking in settings.chunkings:
            data = stream
            if chunking == "1byte":
                data = workloads.prefix(stream, settings.byte_size)
            expected = expected_full if data is stream else reference_events(data)
            chunks = workloads.chunk(data, chunking)
            entries = []
            for peer, fn in decoders:

                def check(result: Any, expected: List[EventTriple] = expected) -> Optional[str]:
                    if result == expected:
                        return None
                    return explain(expected, result)

                entries.append(
                    Entry(
                        peer.name,
                        lambda fn=fn, chunks=chunks: fn(chunks),
                        check if peer.is_parser else None,
                        peer.is_parser,
                    )
                )
            cells = list(zip([peer for peer, _ in decoders], measure(entries, settings)))
            for peer, cell in cells:
                if cell.status in ("wrong", "error"):
                    wrong_notes.setdefault(peer.name, []).append(f"{chunking}: {cell.note}")
            fastest = _fastest_correct(cells)
            for _, cell in cells:
                if fastest and cell.seconds:
                    cell.ratio = fastest / cell.seconds
            title = f"{name} / {chunking}: {len(data):,} bytes, {len(expected):,} events"
            title += f", {len(chunks):,} chunks"
            print()
            print(title)
            rows = []
            for _, cell in cells:
                seconds = cell.seconds
                rows.append(
                    [
                        cell.library,
                        _fmt_rate(len(data) / seconds / 1e6) if seconds else "-",
                        _fmt_rate(len(expected) / seconds) if seconds else "-",
                        _fmt_ratio(cell.ratio),
                        _flag(cell),
                    ]
                )
                record = cell.as_dict(len(data), len(expected))
                record.update(
                    workload=name, chunking=chunking, bytes=len(data), events=len(expected)
                )
                records.append(record)
            print(
                table(
                    ["library", "MB/s", "events/s", "ratio", "events"],
                    rows,
                    [False, True, True, True, False],
                )
            )
        if wrong_notes:
            print(f"\n  {name}: decoders whose events differ from the spec model")
            for library, notes in wrong_notes.items():
                print(f"    {library}:")
                for note in _dedupe(notes):
                    print(f"      {note}")
                failing = [v for v, why in vector_results.get(library, {}).items() if why]
                if failing:
                    print(f"      (fails vectors: {', '.join(failing)})")
    return records


def _dedupe(notes: List[str]) -> List[str]:
    seen: Dict[str, List[str]] = {}
    for note in notes:
        chunking, _, text = note.partition(": ")
        seen.setdefault(text, []).append(chunking)
    return [f"[{', '.join(chunkings)}] {text}" for text, chunkings in seen.items()]


def _flag(cell: Cell) -> str:
    if cell.status == "ok":
        return "correct"
    if cell.status == "baseline":
        return "NOT A PARSER"
    if cell.status == "wrong":
        return "WRONG (see below)"
    if cell.status == "timeout":
        return "gave up: " + cell.note
    return "ERROR (see below)"


def _fastest_correct(cells: Sequence[Tuple[Peer, Any]]) -> Optional[float]:
    times = [
        cell.seconds
        for peer, cell in cells
        if peer.is_parser and not peer.is_ours and cell.status == "ok" and cell.seconds
    ]
    return min(times) if times else None


def _slope(points: Sequence[Tuple[int, float]]) -> Optional[float]:
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx = sum(xs) / len(xs)
    my = sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def section_growth(decoders: Sequence[Tuple[Peer, Any]], settings: Settings) -> Dict[str, Any]:
    sizes = settings.growth_sizes
    heading("Growth: one event of N bytes fed in 1-byte chunks")
    print(
        f"seconds per pass (best of up to 2 for N < 300 KB); slope = fitted exponent of"
        f" time vs size; a pass over {settings.cap:g} s stops a library."
    )
    low = sizes[len(sizes) // 2]
    results: Dict[str, Any] = {}
    rows = []
    for peer, fn in decoders:
        if not peer.is_parser:
            continue
        times: Dict[int, Optional[float]] = {}
        note = ""
        for size in sizes:
            stream = workloads.large_event(size)
            chunks = workloads.chunk(stream, "1byte")
            expected = reference_events(stream)
            repeats = 2 if size < 300_000 else 1
            best: Optional[float] = None
            for _ in range(min(repeats, settings.repeat)):
                try:
                    seconds, result = timed(lambda fn=fn, chunks=chunks: fn(chunks), settings.cap)
                except PassTimeout:
                    note = f"> {settings.cap:g} s at {size:,} B"
                    break
                except Exception as error:
                    note = f"raised {type(error).__name__} at {size:,} B: {_one_line(error)[:80]}"
                    break
                if result != expected and not note:
                    note = f"wrong events at {size:,} B: {explain(expected, result)[:80]}"
                del result
                best = seconds if best is None else min(best, seconds)
            times[size] = best
            if best is None:
                break
        done = [(n, t) for n, t in times.items() if t is not None]
        slope_low = _slope([(n, t) for n, t in done if n <= low])
        slope_high = _slope([(n, t) for n, t in done if n >= low])
        if slope_high is not None and len([n for n, _ in done if n >= low]) < 3 and note:
            slope_high = None  # a partial fit over a cut-off range means little
        results[peer.name] = {
            "seconds": {str(n): t for n, t in times.items()},
            "slope_low": slope_low,
            "slope_high": slope_high,
            "note": note,
        }
        row = [peer.name]
        for size in sizes:
            value = times.get(size)
            row.append("-" if value is None else f"{value:.3f}")
        row.append("-" if slope_low is None else f"{slope_low:.2f}")
        row.append("-" if slope_high is None else f"{slope_high:.2f}")
        if note.startswith(">"):
            note = "quadratic? " + note if (slope_low or 0) > 1.3 else note
            results[peer.name]["note"] = note
        row.append(note)
        rows.append(row)
    headers = ["library"] + [_size_label(n) for n in sizes]
    headers += [f"slope {_size_label(sizes[0])}-{_size_label(low)}"]
    headers += [f"slope {_size_label(low)}-{_size_label(sizes[-1])}", "note"]
    print(table(headers, rows, [False] + [True] * (len(sizes) + 2) + [False]))
    return {"sizes": sizes, "libraries": results}


def _size_label(size: int) -> str:
    if size >= 1_000_000:
        return f"{size // 1_000_000}MB"
    if size >= 1_000:
        return f"{size // 1_000}KB"
    return f"{size}B"


def _encoding_items(
    settings: Settings,
) -> Dict[str, List[Tuple[str, Optional[str], Optional[str]]]]:
    count = settings.encode_events
    llm: List[Tuple[str, Optional[str], Optional[str]]] = []
    size = count * 320
    while len(llm) < count:
        events = reference_events(workloads.make("llm", size))
        llm = [(data, None, None) for _, data, _ in events]
        size *= 2
    typed: List[Tuple[str, Optional[str], Optional[str]]] = []
    size = count * 320
    while len(typed) < count:
        events = reference_events(workloads.make("multiline", size))
        typed = [(data, kind, event_id) for kind, data, event_id in events]
        size *= 2
    return {"llm (data only)": llm[:count], "typed (event, id, multi-line data)": typed[:count]}


def section_encode(settings: Settings) -> List[Dict[str, Any]]:
    heading("Encoding (events/s; output decoded back with the spec model and checked)")
    encoders = load(ENCODERS, settings.peers)
    describe(encoders)
    records: List[Dict[str, Any]] = []
    for label, items in _encoding_items(settings).items():
        expected = [
            (kind or "message", data.replace("\r\n", "\n").replace("\r", "\n"), event_id or "")
            for data, kind, event_id in items
        ]
        entries = []
        sizes: List[List[int]] = []
        for peer, fn in encoders:
            prepare = getattr(fn, "prepare", None)
            arguments = prepare(items) if prepare else items
            out_size = [0]
            sizes.append(out_size)

            def check(
                result: Any,
                out_size: List[int] = out_size,
                expected: List[EventTriple] = expected,
            ) -> Optional[str]:
                wire = result if isinstance(result, bytes) else b"".join(result)
                out_size[0] = len(wire)
                decoded = reference_events(wire)
                return None if decoded == expected else explain(expected, decoded)

            entries.append(
                Entry(peer.name, lambda fn=fn, a=arguments: fn(a), check, peer.is_parser)
            )
        measured = measure(entries, settings)
        cells = [(peer, cell, size[0]) for (peer, _), cell, size in zip(encoders, measured, sizes)]
        fastapi = next((c.seconds for p, c, _ in cells if p.name == "fastapi.sse"), None)
        fastest = _fastest_correct([(p, c) for p, c, _ in cells])
        print(f"\n{label}: {len(items):,} events")
        rows = []
        for _peer, cell, size in cells:
            seconds = cell.seconds
            cell.ratio = fastest / seconds if fastest and seconds else None
            vs_fastapi = fastapi / seconds if fastapi and seconds else None
            rows.append(
                [
                    cell.library,
                    _fmt_rate(len(items) / seconds) if seconds else "-",
                    _fmt_rate(size / seconds / 1e6) if seconds else "-",
                    _fmt_ratio(cell.ratio),
                    _fmt_ratio(vs_fastapi),
                    _flag(cell).replace("A PARSER", "AN ENCODER"),
                ]
            )
            record = cell.as_dict(size, len(items))
            record.update(workload=label, events=len(items), ratio_vs_fastapi=vs_fastapi)
            records.append(record)
        print(
            table(
                ["encoder", "events/s", "MB/s out", "ratio", "vs fastapi", "output"],
                rows,
                [False, True, True, True, True, False],
            )
        )
        for peer, cell, _ in cells:
            if cell.status in ("wrong", "error"):
                print(f"  {peer.name}: {cell.note}")
    return records


# Targets restated by issue 16 (from issue 7's): (workload, chunking) ->
# minimum ratio to the fastest correct peer, for feed(), iter_events() and
# aiter_events() alike.
DECODE_TARGETS: Dict[Tuple[str, str], float] = {}
for _chunking, _llm, _multiline in (("64KiB", 1.5, 2.0), ("1KiB", 1.5, 1.8), ("random", 1.4, 1.6)):
    DECODE_TARGETS[("llm", _chunking)] = _llm
    DECODE_TARGETS[("llm_crlf", _chunking)] = _llm
    DECODE_TARGETS[("multiline", _chunking)] = _multiline
    DECODE_TARGETS[("heartbeat", _chunking)] = 2.0
DECODE_TARGETS[("large_json", "64KiB")] = 1.0
DECODE_TARGETS[("large_json", "1KiB")] = 1.3
DECODE_TARGETS[("large_json", "random")] = 1.3
for _name in workloads.WORKLOADS:
    DECODE_TARGETS[(_name, "1byte")] = 1.0

# The cells where a target is also met at this share of the checked floor's
# speed (floor iter+checks on the same cell in the same run): at random 1-200
# byte chunks the floor itself lands near the targets (issue 16).
CHECKED_FLOOR = "floor iter+checks"
CHECKED_FLOOR_SHARE = 0.9
CHECKED_FLOOR_CELLS = {("llm", "random"), ("llm_crlf", "random"), ("multiline", "random")}

# aiter_events must stay within this share of iter_events' speed.
ASYNC_SHARE = 0.9

# The ways of driving the decoder, all ours: feed() per chunk, iter_events()
# over the chunks, aiter_events() over an async iterator of them.
OURS = {"sse_core": "", "sse_core iter": " (iter_events)", "sse_core aiter": " (aiter_events)"}
BASELINES = ("limit", "floor", "floor iter", CHECKED_FLOOR)


def section_targets(
    decode: List[Dict[str, Any]],
    growth: Optional[Dict[str, Any]],
    encode: List[Dict[str, Any]],
    quick: bool,
) -> List[Dict[str, Any]]:
    heading("Targets (issue 16; informational, CPython 3.11 is the reference)")
    if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
        print(f"note: this is {platform.python_implementation()} {platform.python_version()}.")
    rows = []
    records = []

    def add(what: str, target: str, value: Optional[float], ok: Optional[bool], basis: str) -> None:
        verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
        if quick and ok is not None:
            verdict = "(quick)"  # tiny inputs: a verdict would mean nothing
        shown = "-" if value is None else f"{value:.2f}"
        rows.append([what, target, shown, verdict, basis])
        records.append(
            {"what": what, "target": target, "value": value, "verdict": verdict, "basis": basis}
        )

    by_cell: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for record in decode:
        by_cell.setdefault((record["workload"], record["chunking"]), []).append(record)
    ours_names = OURS
    for (name, chunking), cell_records in by_cell.items():
        target = DECODE_TARGETS.get((name, chunking))
        peers = [
            r
            for r in cell_records
            if r["library"] not in ours_names
            and r["library"] not in BASELINES
            and r["status"] == "ok"
            and r["seconds"]
        ]
        by_library = {r["library"]: r for r in cell_records}
        checked = by_library.get(CHECKED_FLOOR)
        for ours_name, suffix in ours_names.items():
            ours = by_library.get(ours_name)
            what = f"decode {name} / {chunking}{suffix}"
            if ours is None:
                continue
            if ours["status"] != "ok":
                add(what, _target_text(target), None, False, ours_name + " " + ours["status"])
                continue
            if not peers:
                add(what, _target_text(target), None, None, "no correct peer")
                continue
            best = min(peers, key=lambda r: r["seconds"])
            ratio = best["seconds"] / ours["seconds"]
            ok = None if target is None else ratio >= target
            basis = f"vs {best['library']}"
            needs = _target_text(target)
            if (name, chunking) in CHECKED_FLOOR_CELLS and checked and checked["seconds"]:
                share = checked["seconds"] / ours["seconds"]
                needs += f" or {CHECKED_FLOOR_SHARE:.0%} floor"
                basis += f"; {share:.0%} of {CHECKED_FLOOR}"
                ok = bool(ok) or share >= CHECKED_FLOOR_SHARE
            add(what, needs, ratio, ok, basis)
        iterated = by_library.get("sse_core iter")
        awaited = by_library.get("sse_core aiter")
        if iterated and awaited and iterated["seconds"] and awaited["seconds"]:
            share = iterated["seconds"] / awaited["seconds"]
            add(
                f"decode {name} / {chunking}: aiter_events vs iter_events",
                f">= {ASYNC_SHARE:.2f}x",
                share,
                share >= ASYNC_SHARE,
                "aiter_events speed / iter_events speed",
            )
    if growth:
        for ours_name, suffix in ours_names.items():
            ours = growth["libraries"].get(ours_name)
            if not ours:
                continue
            slope = ours["slope_high"]
            add(
                "1-byte large event: growth exponent" + suffix,
                "<= 1.10",
                slope,
                None if slope is None else slope <= 1.1,
                "slope of log time vs log size, 100 KB - 1 MB",
            )
            ratio, basis = _growth_ratio(growth, ours_name, set(ours_names))
            add(
                "1-byte large event: speed" + suffix,
                ">= 1.00x",
                ratio,
                None if ratio is None else ratio >= 1.0,
                basis,
            )
    by_workload: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for record in encode:
        by_workload.setdefault(record["workload"], {})[record["library"]] = record
    for label, libraries in by_workload.items():
        fastapi = libraries.get("fastapi.sse")
        fstring = libraries.get("f-string")
        ours = libraries.get("sse_core encode")
        if ours and ours["seconds"]:
            value = fastapi["seconds"] / ours["seconds"] if fastapi and fastapi["seconds"] else None
            add(
                f"encode {label}",
                ">= 1.10x fastapi.sse",
                value,
                None if value is None else value >= 1.1,
                "encode(Event(...)) vs ServerSentEvent + format_sse_event",
            )
        for name, basis in (
            ("sse_core encode_batch*", "encode_batch(prebuilt Events) vs f-string"),
            ("sse_core encode_batch", "encode_batch([Event(...)]) vs f-string"),
        ):
            batch = libraries.get(name)
            if batch and batch["seconds"] and fstring and fstring["seconds"]:
                value = fstring["seconds"] / batch["seconds"]
                add(f"{name} {label}", ">= 1.00x f-string", value, value >= 1.0, basis)
    print(
        table(
            ["target", "needs", "ratio", "verdict", "basis"],
            rows,
            [False, False, True, False, False],
        )
    )
    return records


def _target_text(target: Optional[float]) -> str:
    return "-" if target is None else f">= {target:.2f}x"


def _growth_ratio(
    growth: Dict[str, Any], ours_name: str, all_ours: Set[str]
) -> Tuple[Optional[float], str]:
    """One of our rows against the fastest correct peer at the largest size both finished."""
    libraries = growth["libraries"]
    ours = libraries.get(ours_name)
    if not ours:
        return None, "sse_core not run"
    for size in reversed(growth["sizes"]):
        mine = ours["seconds"].get(str(size))
        if mine is None:
            continue
        others = [
            (info["seconds"].get(str(size)), name)
            for name, info in libraries.items()
            if name not in all_ours
            and info["seconds"].get(str(size)) is not None
            and not info["note"].startswith("wrong")
        ]
        if others:
            best, name = min(others)
            return best / mine, f"vs {name} at {_size_label(size)}"
    return None, "no peer finished"


# -- main --------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    settings = Settings(args)
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    started = time.perf_counter()
    print(
        "sse_core benchmarks"
        + (" (quick mode: tiny inputs, timings meaningless)" if settings.quick else "")
    )
    print(
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}"
        f" {platform.system()}; workloads {settings.size:,} B, 1-byte chunking on"
        f" {settings.byte_size:,} B; cap {settings.cap:g} s per pass; {args.clock} time"
    )
    heading("Decoders")
    decoders = load(DECODERS, settings.peers)
    environment = describe(decoders)
    results: Dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "quick": settings.quick,
        "size": settings.size,
        "decoders": environment,
    }
    vectors: Dict[str, Dict[str, Optional[str]]] = {}
    if "vectors" in settings.sections:
        vectors = section_vectors(decoders)
        results["vectors"] = vectors
    decode: List[Dict[str, Any]] = []
    if "decode" in settings.sections:
        decode = section_decode(decoders, settings, vectors)
        results["decode"] = decode
    growth = None
    if "growth" in settings.sections:
        growth = section_growth(decoders, settings)
        results["growth"] = growth
    encode: List[Dict[str, Any]] = []
    if "encode" in settings.sections:
        encode = section_encode(settings)
        results["encode"] = encode
    if "targets" in settings.sections:
        results["targets"] = section_targets(decode, growth, encode, settings.quick)
    elapsed = time.perf_counter() - started
    results["elapsed_seconds"] = elapsed
    print(f"\ndone in {elapsed:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
