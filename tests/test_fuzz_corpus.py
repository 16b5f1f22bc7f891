# SPDX-License-Identifier: MIT
"""Replay the fuzz corpora through the fuzz targets' own checks.

``fuzz/corpus/<target>/`` holds the seed inputs and every input a fuzzing run
found failing (named ``regression-*``, kept after the fix), so each is a
regression test here, run without atheris.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator, List, Tuple

import pytest

FUZZ_DIR = Path(__file__).resolve().parent.parent / "fuzz"
TARGETS = ["decoder", "roundtrip"]


def load_target(name: str) -> ModuleType:
    """Import ``fuzz/fuzz_<name>.py`` (which imports its neighbour ``_harness``)."""
    sys.path.insert(0, str(FUZZ_DIR))
    try:
        spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ_DIR / f"fuzz_{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(FUZZ_DIR))
    return module


def corpus() -> Iterator[Tuple[str, Path]]:
    for target in TARGETS:
        for path in sorted((FUZZ_DIR / "corpus" / target).iterdir()):
            yield target, path


CASES: List[Tuple[str, Path]] = list(corpus())


@pytest.mark.parametrize(("target", "path"), CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_corpus_input_passes_the_fuzz_checks(target: str, path: Path) -> None:
    load_target(target).check(path.read_bytes())


def test_each_target_has_a_seed_corpus() -> None:
    for target in TARGETS:
        assert len([p for p in CASES if p[0] == target]) >= 4


def test_the_decoder_checks_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # The checks are not vacuous: a decoder that drops the last event of a
    # chunk would be caught by the chunking and oracle comparisons.
    module = load_target("decoder")
    real = module.feed_all

    def lossy(decoder: object, chunks: List[bytes]) -> object:
        events, *rest = real(decoder, chunks)
        return (events[:-1], *rest) if len(chunks) > 1 else (events, *rest)

    monkeypatch.setattr(module, "feed_all", lossy)
    with pytest.raises(AssertionError):
        module.check(b"\x00\x01data: a\n\ndata: b\n\n")
