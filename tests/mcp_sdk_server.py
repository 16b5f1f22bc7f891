# SPDX-License-Identifier: MIT
"""The official MCP SDK's own Streamable HTTP server, for sse_core's clients.

``uvicorn tests.mcp_sdk_server:app``: an ``MCPServer`` (FastMCP before
mcp 2) with one slow tool that reports progress, resumable through an
in-memory event store written here (the SDK defines the interface), and
``GET /runs``: how many times the tool ran.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Dict, List, Optional, Tuple

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from starlette.requests import Request
from starlette.responses import JSONResponse

#: Seconds per step of the tool: long enough for a cut in the middle.
STEP = 0.2


class MemoryEventStore(EventStore):
    """Every event of every stream, in order, with IDs ``"1"``, ``"2"``, ..."""

    def __init__(self) -> None:
        self.events: List[Tuple[str, str, Any]] = []  # (event ID, stream ID, message)
        self._ids = itertools.count(1)

    async def store_event(self, stream_id: str, message: Any) -> str:
        event_id = str(next(self._ids))
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: str, send_callback: EventCallback
    ) -> Optional[str]:
        found = [i for i, (event_id, _, _) in enumerate(self.events) if event_id == last_event_id]
        if not found:
            return None
        stream = self.events[found[0]][1]
        for event_id, stream_id, message in self.events[found[0] + 1 :]:
            if stream_id == stream and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream


server = MCPServer("sse_core interop")
runs: Dict[str, int] = {"steps": 0}


@server.tool()
async def steps(count: int, ctx: Context) -> str:
    """Work ``count`` steps, reporting progress after each."""
    runs["steps"] += 1
    for step in range(1, count + 1):
        await asyncio.sleep(STEP)
        await ctx.report_progress(step, count, f"step {step}")
    return f"{count} steps done"


@server.custom_route("/runs", methods=["GET"])
async def count_runs(request: Request) -> JSONResponse:
    return JSONResponse(runs)


app = server.streamable_http_app(event_store=MemoryEventStore(), retry_interval=100)
