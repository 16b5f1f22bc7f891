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


def event_to_json(event: Event, ensure_ascii: bool = False) -> str:
    """One event as a JSON object on one line: keys event, data, id, retry."""
    return json.dumps(
        {"event": event.event, "data": event.data, "id": event.id, "retry": event.retry},
        ensure_ascii=ensure_ascii,
    )


def _is_utf8(stream: TextIO) -> bool:
    """Whether ``stream`` can take any text (else JSON output escapes it)."""
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def decode_stream(source: BinaryIO, out: TextIO) -> int:
    """Decode ``source`` to JSON lines on ``out``; return the exit status."""
    decoder = Decoder()
    ascii_only = not _is_utf8(out)
    read = getattr(source, "read1", source.read)
    try:
        while True:
            chunk = read(_CHUNK_SIZE)
            if not chunk:
                break
            for event in decoder.feed(chunk):
                out.write(event_to_json(event, ascii_only) + "\n")
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
    try:
        source = open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        print(f"sse_core: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    with source:
        return decode_stream(source, sys.stdout)


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
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return status
