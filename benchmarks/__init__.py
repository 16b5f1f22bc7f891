# SPDX-License-Identifier: MIT
"""Benchmarks for sse_core against the Python SSE libraries in use today.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``) from the
project root; ``--help`` lists the options and ``benchmarks/README.md``
explains the method.  The suite itself needs only the standard library; the
peers it compares with come from the ``bench`` extra and are skipped, with a
printed reason, when they are not installed.
"""
