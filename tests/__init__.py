# SPDX-License-Identifier: MIT
"""The sse_core test suite."""
