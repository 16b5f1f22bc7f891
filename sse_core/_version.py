# SPDX-License-Identifier: MIT
"""The version of sse_core, as a plain string (a vendored copy has no metadata)."""

__version__ = "0.1.0.dev0"
