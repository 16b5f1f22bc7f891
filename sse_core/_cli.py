# SPDX-License-Identifier: MIT
"""The command line: ``python -m sse_core COMMAND``.

Each command is a small function that parses nothing itself; argparse does.
Commands that need an adapter import it inside the function, so that
``python -m sse_core decode`` loads the core alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO, List, Optional, TextIO

from ._decoder import Decoder
from ._errors import SSEError
from ._events import Event
from ._version import __version__

_CHUNK_SIZE = 64 * 1024


def event_to_json(event: Event) -> str:
    """One event as a JSON object on one line: keys event, data, id, retry."""
    return json.dumps(
        {"event": event.event, "data": event.data, "id": event.id, "retry": event.retry},
        ensure_ascii=False,
    )


def decode_stream(source: BinaryIO, out: TextIO) -> int:
    """Decode ``source`` to JSON lines on ``out``; return the exit status."""
    decoder = Decoder()
    read = getattr(source, "read1", source.read)
    try:
        while True:
            chunk = read(_CHUNK_SIZE)
            if not chunk:
                break
            for event in decoder.feed(chunk):
                out.write(event_to_json(event) + "\n")
            out.flush()
        decoder.close()
    except SSEError as error:
        print(f"sse_core: {error}", file=sys.stderr)
        return 1
    if decoder.truncated:
        print("sse_core: the stream ended inside an event; it was discarded", file=sys.stderr)
    return 0


def _command_decode(args: argparse.Namespace) -> int:
    if args.file == "-":
        return decode_stream(sys.stdin.buffer, sys.stdout)
    with open(args.file, "rb") as source:
        return decode_stream(source, sys.stdout)


def _command_demo(args: argparse.Namespace) -> int:
    from . import _demo

    _demo.serve(args.host, args.port, server=args.server, interval=args.interval)
    return 0


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sse_core", description="Server-Sent Events tools."
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    decode = commands.add_parser(
        "decode",
        help="decode a text/event-stream into JSON lines",
        description="Read an event stream and print one JSON object per event"
        " (keys: event, data, id, retry).",
    )
    decode.add_argument("file", nargs="?", default="-", help="input file (default: stdin)")
    decode.set_defaults(handler=_command_decode)
    demo = commands.add_parser(
        "demo",
        help="serve a live demo page fed by an event stream",
        description="Serve a page at / that shows events from /events arriving live"
        " through the browser's EventSource: an agent's task output, one step a second,"
        " resuming after Last-Event-ID when the browser reconnects.  Standard library only.",
    )
    demo.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks one)")
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument(
        "--server",
        choices=("wsgi", "asgi"),
        default="wsgi",
        help="wsgi: sse_core.wsgi under wsgiref; asgi: sse_core.asgi under its"
        " asyncio server (default wsgi)",
    )
    demo.add_argument(
        "--interval",
        type=_positive_float,
        default=1.0,
        help="seconds between events (default 1)",
    )
    demo.set_defaults(handler=_command_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return status
