# SPDX-License-Identifier: MIT
"""What single pages promise a reader, beyond their blocks running in order.

``tests/test_docs.py`` runs each page's blocks in one namespace, so a block
that forgets an import still passes there; a reader copying that block alone
gets a ``NameError``.  These check each getting-started block on its own, that
the page installs what its blocks import, and that the vendoring page says
what CI runs.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import re
import symtable
from pathlib import Path
from typing import Set

import pytest

from .doc_runner import Block, extract

ROOT = Path(__file__).resolve().parent.parent
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
BLOCKS = extract(GETTING_STARTED.read_text(encoding="utf-8"))

#: Modules that come with a package the page installs (FastAPI needs Starlette).
INSTALLED_WITH = {"starlette": "fastapi"}


def _unbound_globals(table: symtable.SymbolTable, bound: Set[str]) -> Set[str]:
    """Global names read in ``table`` or its children that nothing binds."""
    names = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_referenced()
        and (symbol.is_global() or table.get_type() == "module")
        and symbol.get_name() not in bound
    }
    for child in table.get_children():
        names |= _unbound_globals(child, bound)
    return names


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: f"line {block.line}")
def test_each_block_imports_what_it_uses(block: Block) -> None:
    table = symtable.symtable(block.code, str(GETTING_STARTED), "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    assert _unbound_globals(table, bound | set(dir(builtins))) == set()


def test_the_page_installs_what_its_blocks_import() -> None:
    imported: Set[str] = set()
    for block in BLOCKS:
        for node in ast.walk(ast.parse(block.code)):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = set()
    for name in imported - {"sse_core"}:
        spec = importlib.util.find_spec(name)
        assert spec is not None, name  # the test extras install what the docs use
        if "site-packages" in (spec.origin or ""):
            third_party.add(INSTALLED_WITH.get(name, name))
    assert third_party >= {"fastapi", "httpx"}  # the check sees what it checks
    installs = re.findall(r"pip install ([^\n]*)", GETTING_STARTED.read_text(encoding="utf-8"))
    installed = {word for line in installs for word in line.split() if not word.startswith("-")}
    assert third_party <= installed


def test_vendoring_page_says_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "vendoring.md").read_text(encoding="utf-8")
    match = re.search(r"^versions=\(([^)]*)\)", ci, re.MULTILINE)
    assert match is not None
    versions = match.group(1).split()
    assert f"CPython {versions[0]} to {versions[-1]}, every one tested in CI" in page
    assert "find-python.sh pypy3" in ci
    assert "CI runs the\ncore's tests on PyPy" in page
