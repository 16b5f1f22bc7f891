# SPDX-License-Identifier: MIT
"""What the sync and asyncio EventSource clients show of their state.

Both drive an :class:`~sse_core.EventSourceState`; this base class holds the
read-only views they share, so the two clients differ only in their I/O.
"""

from __future__ import annotations

from typing import Optional

from ._reconnect import EventSourceState


class _EventSourceViews:
    """Read-only views over ``_machine``, for the two EventSource clients."""

    _machine: EventSourceState
    # While the events of one chunk are handed out: the ID as of the last.
    _delivered_id: Optional[str] = None

    @property
    def last_event_id(self) -> str:
        """The last event ID as of the last event iterated (or given).

        Events a chunk completed but the loop has not reached yet do not count,
        so a loop that stops early can resume from here without a gap.
        """
        if self._delivered_id is not None:
            return self._delivered_id
        return self._machine.last_event_id

    @property
    def status(self) -> Optional[int]:
        """The status code of the last response, or None before one."""
        return self._machine.status

    @property
    def machine(self) -> EventSourceState:
        """The sans-IO state machine this client drives."""
        return self._machine
