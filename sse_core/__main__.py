# SPDX-License-Identifier: MIT
"""``python -m sse_core``: see :mod:`sse_core._cli`."""

from ._cli import main

raise SystemExit(main())
