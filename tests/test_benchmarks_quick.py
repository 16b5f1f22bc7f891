# SPDX-License-Identifier: MIT
"""The benchmark suite's quick mode runs, so the suite cannot rot unnoticed.

Timings are not asserted (they mean nothing at this size); the run must exit
0, print sse_core's rows in every section, and find sse_core's events equal to
the spec model's on every workload and chunking.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run this interpreter on ``args`` from the project root."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=str(ROOT),
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_quick_mode_runs(tmp_path: Path) -> None:
    report = tmp_path / "results.json"
    # sse_core and the stdlib baselines only, even where peers are installed.
    peers = "sse_core,limit,f-string"
    command = ["-bb", "-W", "error", "-m", "benchmarks", "--quick"]
    completed = run(*command, "--peers", peers, "--json", str(report), timeout=120)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "Correctness vectors" in out
    assert "\nsse_core " in out
    assert "sse_core encode_batch" in out
    assert "Targets" in out

    results = json.loads(report.read_text(encoding="utf-8"))
    for ours in ("sse_core", "sse_core iter"):
        check_decoder_rows(results, ours)
    encoders = {r["library"]: r for r in results["encode"]}
    for name in ("sse_core encode", "sse_core encode_batch", "sse_core encode_batch*"):
        assert encoders[name]["status"] == "ok", encoders[name]


def check_decoder_rows(results: Dict[str, Any], ours: str) -> None:
    decode = [r for r in results["decode"] if r["library"] == ours]
    workloads = {r["workload"] for r in decode}
    assert workloads == {
        "llm",
        "llm_crlf",
        "large_json",
        "multiline",
        "multiline_crlf",
        "heartbeat",
    }
    assert {r["chunking"] for r in decode} == {"whole", "64KiB", "1KiB", "random", "1byte"}
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in decode), decode
    assert all(why is None for why in results["vectors"][ours].values())
    growth = results["growth"]["libraries"][ours]
    assert growth["note"] == ""
    assert all(seconds is not None for seconds in growth["seconds"].values())


def test_bad_option_is_refused() -> None:
    completed = run("-m", "benchmarks", "--quick", "--only", "no-such-workload")
    assert completed.returncode != 0
    assert "unknown workload" in completed.stderr


def test_per_call_script_runs() -> None:
    completed = run("benchmarks/per_call.py", "--number", "50", "--repeat", "1")
    assert completed.returncode == 0, completed.stderr
    rows = completed.stdout.splitlines()[2:]
    assert len(rows) == 4
    # Columns end "<sse_core ns> <floor ns or -> <size> B"; the floor cannot
    # decode multi-line events.
    cells = [row.split()[-4:-2] for row in rows]
    assert all(ours.isdigit() for ours, _ in cells)
    assert [floor.isdigit() for _, floor in cells] == [True, True, True, False]


def test_chunk_cost_script_runs() -> None:
    completed = run("benchmarks/chunk_cost.py", "--size", "100000", "--repeat", "1")
    assert completed.returncode == 0, completed.stderr
    table = completed.stdout.split("\n\n")[0].splitlines()[2:]
    rows = {name: cells.split() for name, cells in (line.split("  ", 1) for line in table)}
    # Five chunkings (ms), then what four of them add per chunk (ns, may be < 0).
    for name in ("sse_core iter", "sse_core", "floor iter", "floor iter+checks"):
        assert len(rows[name]) == 5 + 4
        assert all(float(cell) > 0 for cell in rows[name][:5])
        assert all(cell.lstrip("-").isdigit() for cell in rows[name][5:])


def test_async_cost_script_runs() -> None:
    completed = run(
        "benchmarks/async_cost.py",
        "--only",
        "llm,multiline",
        "--chunking",
        "1KiB,1byte",
        "--size",
        "20000",
        "--byte-size",
        "2000",
        "--repeat",
        "1",
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line.split() for line in completed.stdout.splitlines()[3:]]
    assert [row[0] + row[2] for row in rows] == [
        "llm1KiB",
        "llm1byte",
        "multiline1KiB",
        "multiline1byte",
    ]
    for row in rows:
        iterating, source, hand_over, aiterating, bound, ratio = map(float, row[3:])
        assert iterating > 0 and aiterating > 0 and source >= 0 and hand_over >= 0
        assert ratio > 0
        # The bound is iter over the sum of the three costs, so at most 1.
        assert 0 < bound <= 1


def test_floor_baselines_decode_llm_streams_as_the_spec_does() -> None:
    # Not parsers, but on the LF stream of one-field events they model, they
    # must find the same events, or the bound they give would mean nothing.
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import peers, workloads
        from benchmarks.reference import reference_events
    finally:
        sys.path.remove(str(ROOT))
    stream = workloads.make("llm", 60_000)
    expected = reference_events(stream)
    baselines = {peer.name: peer for peer in peers.DECODERS if not peer.is_parser}
    for chunking in ("whole", "1KiB", "random", "1byte"):
        chunks = workloads.chunk(stream, chunking)
        for name in ("floor", "floor iter", "floor iter+checks"):
            assert baselines[name].load()(chunks) == expected, (name, chunking)


def test_checked_floor_does_the_checks_it_claims() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import peers
    finally:
        sys.path.remove(str(ROOT))
    events = peers.checked_floor_events
    # Lines end at a CR too, in a chunk with no LF; bytes-like chunks are
    # taken as bytes.
    assert [event.data for event in events([memoryview(b"data: a\r\r")])] == ["a"]
    chunks = [bytearray(b"data: a\r"), memoryview(b"\rdata: "), b"b\r\rdat", b"a: c\n\n"]
    assert [event.data for event in events(chunks)] == ["a", "b", "c"]
    # A held line past the limit is an error, not more memory.
    with pytest.raises(ValueError):
        list(events([b"data: ", b"x" * 10, b"y"], limit=15))
    assert [event.data for event in events([b"data: ", b"x" * 9, b"\n\n"], limit=15)] == ["x" * 9]
