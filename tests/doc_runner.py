# SPDX-License-Identifier: MIT
"""Execute every ```python block of one Markdown page, in order, as a newcomer would.

Run by ``tests/test_docs.py`` in a fresh interpreter per page::

    python -bb -m tests.doc_runner docs/asgi.md SUMMARY.json

The blocks of a page share one namespace, so a later block may use what an
earlier one defined (a page reads as one story).  Before each block, the text
``8000`` (the port the docs use) is replaced by the port of the server the page
started last, so samples keep the port a reader would type.

A block may be preceded by one HTML comment (invisible when rendered) saying
how to run it:

``<!-- test: skip REASON -->``
    Not executed; REASON says why (keep these rare).
``<!-- test: serve asgi NAME -->`` / ``<!-- test: serve wsgi NAME -->``
    Run the block, then serve the namespace's ``NAME`` under uvicorn (ASGI) or
    a threading wsgiref server (WSGI) on a fresh port, for the blocks after it.
``<!-- test: needs MODULE -->``
    Run the block only where MODULE imports (the ``mcp`` SDK needs Python
    3.10); elsewhere it is reported as skipped, with that reason.
``<!-- test: serve gunicorn NAME -->``
    Serve ``NAME`` under gunicorn (``gthread`` workers) in a subprocess: the
    worker runs the page's blocks up to this one again, in a namespace of its
    own (:func:`docs_app`), so no block before it may make a request.
``<!-- test: background -->``
    The block serves for ever (``serve_forever``, ``uvicorn.run``): run it in a
    daemon thread on a fresh port and wait until that port accepts connections.

Each block runs under a watchdog (``faulthandler``) so nothing can hang.
The summary file gets ``{"executed": [...], "skipped": [[line, reason], ...]}``
(line numbers of the fences); any failure exits non-zero with the block's line.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import json
import os
import re
import sys
import textwrap
import threading
import traceback
import types
import warnings
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from ._servers import (
    ROOT,
    free_port,
    subprocess_server,
    uvicorn_server,
    wait_for_port,
    wsgiref_server,
)

#: Seconds one block may run before the watchdog kills the page.
BLOCK_TIMEOUT = 60
#: The port the docs' samples use; replaced by a free one.
DOC_PORT = "8000"

_FENCE = re.compile(r"^( *)```python[ \t]*$")
_MARKER = re.compile(r"^\s*<!--\s*test:\s*(.*?)\s*-->\s*$")


class Block(NamedTuple):
    line: int  # 1-based line of the opening fence
    code: str
    marker: Optional[str]  # the text after "test:", if any


def extract(text: str) -> List[Block]:
    """The page's ```python blocks (fences may be indented, as in lists)."""
    lines = text.splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent = match.group(1)
        start = i
        body: List[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"line {start + 1}: unterminated ```python block")
        marker = None
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        if previous >= 0:
            found = _MARKER.match(lines[previous])
            if found:
                marker = found.group(1)
        code = textwrap.dedent(
            "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body)
        )
        blocks.append(Block(start + 1, code + "\n", marker))
        i += 1
    return blocks


class Page:
    def __init__(self, path: Path) -> None:
        self.path = path
        # A real module, so that code importing its own module by name works
        # (Django's ROOT_URLCONF = __name__, Flask(__name__)).
        module = types.ModuleType("__docs__")
        sys.modules[module.__name__] = module
        self.namespace: Dict[str, Any] = module.__dict__
        self.port = DOC_PORT
        self.servers = contextlib.ExitStack()
        # Stopped when the page ends (threads die with the process; these would not).
        self.subprocesses = contextlib.ExitStack()

    def run(self, block: Block) -> None:
        marker = block.marker or ""
        if marker.startswith("background"):
            self.port = str(free_port())
            code = block.code.replace(DOC_PORT, self.port)
            thread = threading.Thread(target=self._exec, args=(code, block), daemon=True)
            thread.start()
            wait_for_port(int(self.port))
            return
        self._exec(block.code.replace(DOC_PORT, self.port), block)
        words = marker.split()
        if words[:1] == ["serve"]:
            kind, name = words[1], words[2]
            if kind == "gunicorn":
                self.port = str(free_port())
                argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}"]
                argv += ["--worker-class", "gthread", "--threads", "8", "--log-level", "warning"]
                argv += ["--chdir", str(ROOT), "tests.doc_runner:docs_app()"]
                env = {"SSE_DOC_PAGE": str(self.path), "SSE_DOC_BLOCK": str(block.line)}
                self.subprocesses.enter_context(subprocess_server(argv, int(self.port), **env))
                return
            app = self.namespace[name]
            factory = uvicorn_server if kind == "asgi" else wsgiref_server
            self.port = str(self.servers.enter_context(factory(app)).port)

    def _exec(self, code: str, block: Block) -> None:
        compiled = compile(code, f"{self.path}:{block.line}", "exec")
        exec(compiled, self.namespace)


def run_page(path: Path) -> Tuple[List[int], List[Tuple[int, str]]]:
    page = Page(path)
    with page.subprocesses:
        return _run_blocks(page, path)


def _run_blocks(page: Page, path: Path) -> Tuple[List[int], List[Tuple[int, str]]]:
    executed: List[int] = []
    skipped: List[Tuple[int, str]] = []
    for block in extract(path.read_text(encoding="utf-8")):
        if block.marker and block.marker.startswith("skip"):
            reason = block.marker[len("skip") :].strip()
            if not reason:
                raise ValueError(f"{path}:{block.line}: a skip needs a reason")
            skipped.append((block.line, reason))
            continue
        if block.marker and block.marker.startswith("needs "):
            module = block.marker.split()[1]
            if importlib.util.find_spec(module) is None:
                skipped.append((block.line, f"{module} is not installed"))
                continue
        print(f"--- {path}:{block.line}", flush=True)
        faulthandler.dump_traceback_later(BLOCK_TIMEOUT, exit=True)
        try:
            page.run(block)
        except BaseException:
            traceback.print_exc()
            print(f"FAILED: the block at {path}:{block.line}", file=sys.stderr, flush=True)
            raise
        finally:
            faulthandler.cancel_dump_traceback_later()
        executed.append(block.line)
    return executed, skipped


def docs_app() -> Any:
    """The application a ``serve gunicorn NAME`` block defines (gunicorn's factory).

    Runs the blocks of the page ``SSE_DOC_PAGE`` up to the one at line
    ``SSE_DOC_BLOCK``, skipping those marked ``skip`` or ``background``, and
    returns the ``NAME`` it names.
    """
    path, line = Path(os.environ["SSE_DOC_PAGE"]), int(os.environ["SSE_DOC_BLOCK"])
    page = Page(path)
    for block in extract(path.read_text(encoding="utf-8")):
        marker = block.marker or ""
        if marker.startswith(("skip", "background")):
            continue
        page._exec(block.code, block)
        if block.line == line:
            return page.namespace[marker.split()[2]]
    raise LookupError(f"{path} has no block at line {line}")


def _preload_h2() -> None:
    # h2 4.1 (the last for Python 3.8) compares bytes with str at import, which
    # -bb turns into an error; httpx imports it when installed.  Not our bug,
    # and not something a reader of the docs meets (nobody runs with -bb).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BytesWarning)
        with contextlib.suppress(ImportError):
            import h2.connection  # noqa: F401


def main(argv: List[str]) -> None:
    path, summary = Path(argv[0]), Path(argv[1])
    _preload_h2()
    try:
        executed, skipped = run_page(path)
    except BaseException:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    summary.write_text(json.dumps({"executed": executed, "skipped": skipped}))
    sys.stdout.flush()
    sys.stderr.flush()
    # Servers and background blocks run in daemon threads; streams they hold
    # open would delay an orderly stop, and the process is done anyway.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
