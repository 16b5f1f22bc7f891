# SPDX-License-Identifier: MIT
"""``sse_core/`` must work when copied alone into another project, under another name.

Each check runs in a fresh interpreter with ``-I -S``: isolated mode (no
``PYTHON*`` variables, no user site, no script directory) and no site-packages
at all, so only the standard library and the directory we put on ``sys.path``
can be imported.  The installed ``sse_core`` is then out of reach.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import sse_core

PACKAGE_DIR = Path(sse_core.__file__).resolve().parent
TIMEOUT = 60


def run_isolated(code: str, path: Path) -> Any:
    """Run ``code`` with only ``path`` and the stdlib importable; return its JSON output."""
    prelude = f"import sys\nsys.path.insert(0, {str(path)!r})\n"
    completed = subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=str(path),
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def vendor(tmp_path: Path, name: str = "vendored_sse") -> Path:
    shutil.copytree(PACKAGE_DIR, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_vendored_copy_decodes_and_encodes(tmp_path: Path) -> None:
    path = vendor(tmp_path)
    result = run_isolated(
        """
        import json
        import vendored_sse
        from vendored_sse import Decoder, Event, encode, encode_comment
        decoder = Decoder()
        events = decoder.feed(b"\\xef\\xbb\\xbfevent: e\\r\\nid: 7\\rdata: a\\ndata: b\\n\\n")
        events += decoder.close()
        wire = encode(Event("x\\ny", "update", "8", 100)) + encode_comment("hi")
        print(json.dumps({
            "events": [list(e) for e in events],
            "wire": wire.decode(),
            "event_module": type(events[0]).__module__,
            "file": vendored_sse.__file__,
            "version": vendored_sse.__version__,
            "sse_core_loaded": "sse_core" in sys.modules,
        }))
        """,
        path,
    )
    assert result["events"] == [["a\nb", "e", "7", None]]
    assert result["wire"] == "event: update\nid: 8\nretry: 100\ndata: x\ndata: y\n\n: hi\n"
    assert result["event_module"] == "vendored_sse._events"
    assert Path(result["file"]).parent == path / "vendored_sse"
    assert result["version"] == sse_core.__version__
    assert result["sse_core_loaded"] is False


def test_vendored_copy_as_a_subpackage(tmp_path: Path) -> None:
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    vendor(tmp_path / "myapp", "_sse")
    result = run_isolated(
        """
        import json
        from myapp._sse import Decoder
        print(json.dumps([e.data for e in Decoder().feed(b"data: ok\\n\\n")]))
        """,
        tmp_path,
    )
    assert result == ["ok"]


def test_package_imports_only_the_standard_library(tmp_path: Path) -> None:
    # Import every module of the vendored copy, then check where every module
    # that appeared since start-up came from: the copy, or the stdlib.
    path = vendor(tmp_path)
    modules = sorted(p.stem for p in (path / "vendored_sse").glob("*.py"))
    assert "__main__" in modules
    modules.remove("__main__")  # running it would parse our argv
    result = run_isolated(
        f"""
        import json, os, sysconfig
        before = set(sys.modules)
        import importlib
        for name in {modules!r}:
            full = "vendored_sse" if name == "__init__" else "vendored_sse." + name
            importlib.import_module(full)
        stdlib = [os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")]
        foreign = []
        for name in sorted(set(sys.modules) - before):
            if name == "vendored_sse" or name.startswith("vendored_sse."):
                continue
            file = getattr(sys.modules[name], "__file__", None)
            if file is None:
                continue  # built into the interpreter
            real = os.path.realpath(file)
            if not any(real.startswith(root + os.sep) for root in stdlib):
                foreign.append([name, real])
        print(json.dumps({{"foreign": foreign, "count": len(set(sys.modules) - before)}}))
        """,
        path,
    )
    assert result["foreign"] == []
    assert result["count"] > 0


def test_importing_the_core_loads_no_io_machinery(tmp_path: Path) -> None:
    path = vendor(tmp_path)
    heavy = ["asyncio", "socket", "threading", "selectors", "ssl", "http", "logging"]
    result = run_isolated(
        f"""
        import json
        heavy = {heavy!r}
        before = [m for m in heavy if m in sys.modules]
        import vendored_sse
        after = [m for m in heavy if m in sys.modules]
        print(json.dumps({{"before": before, "after": after}}))
        """,
        path,
    )
    assert result == {"before": [], "after": []}


def test_no_absolute_self_imports() -> None:
    # A vendored copy under another name breaks on "import sse_core" or
    # "from sse_core import" inside the package.
    for source in PACKAGE_DIR.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "import sse_core" not in text, source
        assert "from sse_core" not in text, source
