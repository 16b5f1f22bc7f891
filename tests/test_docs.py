# SPDX-License-Identifier: MIT
"""The docs cannot rot: every ```python block and every example script runs here.

Each page runs in a fresh interpreter (``tests/doc_runner.py`` explains the
conventions: one namespace per page, port 8000 replaced by a free port, and the
``<!-- test: ... -->`` markers).  Servers the samples start listen on
127.0.0.1 only, and every page and script has a timeout.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from .doc_runner import extract

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
PAGE_TIMEOUT = 240
#: Blocks allowed to be skipped in all the docs (each says why in its marker).
MAX_SKIPS = 3

PUBLIC_MODULES = (
    "sse_core",
    "sse_core.asgi",
    "sse_core.wsgi",
    "sse_core.broadcast",
    "sse_core.client",
    "sse_core.async_client",
)


def _run(argv: List[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-bb", *argv],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.timeout(PAGE_TIMEOUT + 30)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_runs(page: Path, tmp_path: Path) -> None:
    blocks = extract(page.read_text(encoding="utf-8"))
    summary = tmp_path / "summary.json"
    completed = _run(["-m", "tests.doc_runner", str(page), str(summary)], PAGE_TIMEOUT)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-8000:]
    result = json.loads(summary.read_text())
    assert len(result["executed"]) + len(result["skipped"]) == len(blocks)
    assert [b.line for b in blocks if _runs(b.marker or "")] == result["executed"]


def _runs(marker: str) -> bool:
    """True if a block with this marker runs here (not skipped, its module importable)."""
    if marker.startswith("needs "):
        return importlib.util.find_spec(marker.split()[1]) is not None
    return not marker.startswith("skip")


def test_few_blocks_are_skipped() -> None:
    skipped = [
        (page.name, block.line, block.marker)
        for page in PAGES
        for block in extract(page.read_text(encoding="utf-8"))
        if (block.marker or "").startswith("skip")
    ]
    assert len(skipped) <= MAX_SKIPS, skipped


def test_no_python_hides_under_another_fence() -> None:
    for page in PAGES:
        fences = re.findall(r"^ *```(\S+)", page.read_text(encoding="utf-8"), re.M)
        assert not {"py", "py3", "python3", "pycon", "ipython"} & set(fences), page.name


def test_markers_are_known() -> None:
    for page in PAGES:
        for block in extract(page.read_text(encoding="utf-8")):
            words = (block.marker or "skip x").split()
            assert words[0] in ("skip", "serve", "background", "needs"), (page, block.line)
            if words[0] == "needs":
                assert len(words) == 2, (page, block.line)
            if words[0] == "serve":
                assert len(words) == 3 and words[1] in ("asgi", "wsgi", "gunicorn"), (
                    page,
                    block.line,
                )


def test_extract_finds_indented_blocks_and_markers() -> None:
    text = "\n".join(
        [
            "intro",
            "<!-- test: skip needs a terminal -->",
            "```python",
            "x = 1",
            "```",
            "- item:",
            "",
            "  ```python",
            "  if True:",
            "      y = 2",
            "  ```",
            "```sh",
            "echo no",
            "```",
        ]
    )
    blocks = extract(text)
    assert [(b.line, b.code, b.marker) for b in blocks] == [
        (3, "x = 1\n", "skip needs a terminal"),
        (8, "if True:\n    y = 2\n", None),
    ]


def _api_names() -> List[str]:
    names = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names += [f"{module_name}.{name}" for name in module.__all__]
    return names


@pytest.mark.parametrize("qualified", _api_names())
def test_public_name_is_documented(qualified: str) -> None:
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    module, _, name = qualified.rpartition(".")
    # Each name has a heading of its own in its module's section.
    section = api.split(f"## `{module}`", 1)
    assert len(section) == 2, f"docs/api.md has no section for {module}"
    body = section[1].split("\n## `", 1)[0]
    assert re.search(rf"^### `{re.escape(name)}\b", body, re.M), qualified


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.timeout(PAGE_TIMEOUT + 30)
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path) -> None:
    completed = _run([str(script), "--self-test"], PAGE_TIMEOUT)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-8000:]
    assert "self-test passed" in completed.stdout


@pytest.mark.parametrize(
    ("script", "run_line"),
    [
        ("asyncio_server_client.py", "asyncio.run(main())"),
        ("trio_server_client.py", "trio.run(main)"),
    ],
)
def test_sans_io_page_shows_the_example_whole(script: str, run_line: str) -> None:
    text = (ROOT / "examples" / script).read_text(encoding="utf-8")
    start = text.index("from __future__ import annotations")
    end = text.index('\n\nif __name__ == "__main__":')
    expected = text[start:end].rstrip() + "\n\n\n" + run_line + "\n"
    codes = [b.code for b in extract((DOCS / "sans-io.md").read_text(encoding="utf-8"))]
    assert expected in codes, f"docs/sans-io.md no longer shows examples/{script} as it is"


def test_tests_cited_in_the_docs_exist() -> None:
    from .test_decoder_spec import CASES

    names = {case.name for case in CASES}
    cited_vectors = 0
    cited_tests = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for vector in re.findall(r"`spec\[(.+?)\]`", text):
            assert vector in names, f"{page.name} cites a missing vector {vector!r}"
            cited_vectors += 1
        for path, name in re.findall(r"(tests/test_\w+\.py)::(test_\w+)", text):
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"^(async )?def {name}\(", source, re.M), (
                f"{page.name}: {path}::{name}"
            )
            cited_tests += 1
    assert cited_vectors >= 20 and cited_tests >= 10


#: Pages other branches are writing; links to them are allowed before they land.
PENDING_PAGES = {"security.md", "performance.md"}


def test_relative_links_point_at_files() -> None:
    checked = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            resolved = (page.parent / path).resolve()
            assert resolved.exists() or Path(path).name in PENDING_PAGES, f"{page.name}: {target}"
            checked += 1
    assert checked > 30
