# SPDX-License-Identifier: MIT
"""Peak memory of a piece of code, measured with :mod:`tracemalloc`.

``tracemalloc`` counts every allocation the interpreter makes through its
allocators, so the peak it reports covers the decoder's buffers, the text each
chunk decodes to, and the events a call returns.  PyPy has no ``tracemalloc``
(its ``_tracemalloc`` module is missing): there :func:`measure_peak` runs the
code and reports a peak of 0, so that tests checking outcomes as well as memory
still check the outcomes, and tests that check only memory are skipped with
:data:`requires_tracemalloc`.  CI measures memory on every CPython.
"""

from __future__ import annotations

import importlib.util
from typing import Callable, Tuple, TypeVar

import pytest

__all__ = ("HAVE_TRACEMALLOC", "measure_peak", "requires_tracemalloc")

T = TypeVar("T")

#: False on PyPy, whose tracemalloc module imports a C module it does not ship.
HAVE_TRACEMALLOC = importlib.util.find_spec("_tracemalloc") is not None

requires_tracemalloc = pytest.mark.skipif(
    not HAVE_TRACEMALLOC,
    reason="this interpreter has no tracemalloc (PyPy); CPython runs the memory checks",
)


def measure_peak(run: Callable[[], T]) -> Tuple[int, T]:
    """Call ``run()`` with tracemalloc on; return (peak bytes allocated, its result).

    Memory allocated before the call is not counted; the peak is what the call
    allocated at most at any one time on top of it.  Without tracemalloc, the
    peak is reported as 0.
    """
    if not HAVE_TRACEMALLOC:
        return 0, run()
    import tracemalloc

    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result
