# SPDX-License-Identifier: MIT
"""What the sync and asyncio EventSource clients show of their state.

Both drive an :class:`~sse_core.EventSourceState`; this base class holds the
read-only views they share, so the two clients differ only in their I/O.
"""

from __future__ import annotations

from typing import Optional

from ._client_http import Headers, get_header
from ._reconnect import Answer, EventSourceState


class _EventSourceViews:
    """Read-only views over ``_machine``, for the two EventSource clients."""

    _machine: EventSourceState
    # While the events of one chunk are handed out: the ID as of the last.
    _delivered_id: Optional[str] = None
    _answer: Optional[Answer] = None

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
    def response_headers(self) -> Optional[Headers]:
        """The headers of the last response as ``(name, value)`` pairs, or None.

        Readable once the stream is open (say, an MCP server's
        ``Mcp-Session-Id``); :meth:`header` looks one up.
        """
        return self._machine.response_headers

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case) in the last response, or None."""
        headers = self._machine.response_headers
        return None if headers is None else get_header(headers, name)

    @property
    def answer(self) -> Optional[Answer]:
        """The whole answer that ended the iteration, when it was not a stream.

        Set only with ``max_answer_size``: a 2xx that is not
        ``text/event-stream`` (an MCP ``202`` or ``application/json``) ends
        the iteration without events and shows up here, body included.
        """
        return self._answer

    @property
    def machine(self) -> EventSourceState:
        """The sans-IO state machine this client drives."""
        return self._machine
