# SPDX-License-Identifier: MIT
"""The command line: ``python -m sse_core COMMAND``.

Each command is a small function that parses nothing itself; argparse does.
Commands that need an adapter import it inside the function, so that
``python -m sse_core decode`` loads the core alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import BinaryIO, List, Optional, TextIO, Tuple

from ._client_http import get_header
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


def _header(value: str) -> Tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value!r}")
    return name.strip(), rest.strip()


def _print_event(event: Event, out: TextIO, as_json: bool) -> None:
    if as_json:
        record = {"event": event.event, "data": event.data, "id": event.id}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        label = event.event
        if event.id:
            label += f" id={event.id}"
        if event.retry is not None:
            label += f" retry={event.retry}"
        out.write(f"[{label}]\n{event.data}\n\n")
    out.flush()


def _describe(action: object) -> Optional[str]:
    """A line for ``--verbose`` about what the EventSource does next."""
    from ._reconnect import Connect, Open, Stop, Wait

    if type(action) is Connect:
        last_id = get_header(action.headers, "last-event-id")
        resume = f" (Last-Event-ID: {last_id})" if last_id else ""
        return f"> {action.method} {action.url}{resume}"
    if type(action) is Open:
        return f"< {action.status} {get_header(action.headers, 'content-type')}"
    if type(action) is Wait:
        cause = f" after {action.error!r}" if action.error is not None else " after end of stream"
        return f"* reconnecting in {action.delay:.2f}s{cause}"
    if type(action) is Stop and action.error is None:
        if action.status == 204:
            return "< 204: the server asked to stop"
        return "* the stream ended"
    return None


def _command_get(args: argparse.Namespace) -> int:
    import ssl

    from ._reconnect import ReconnectPolicy, ResponseError
    from .client import EventSource

    body: Optional[bytes] = None
    if args.data is not None:
        if args.data.startswith("@"):
            name = args.data[1:]
            if name == "-":
                body = sys.stdin.buffer.read()
            else:
                with open(name, "rb") as file:
                    body = file.read()
        else:
            body = args.data.encode("utf-8")
    method = args.method or ("POST" if body is not None else "GET")
    context = None
    if args.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif args.cacert:
        context = ssl.create_default_context(cafile=args.cacert)

    def log(action: object) -> None:
        line = _describe(action)
        if line is not None:
            print(line, file=sys.stderr, flush=True)

    try:
        source = EventSource(
            args.url,
            method=method,
            headers=args.header,
            body=body,
            last_event_id=args.last_event_id,
            policy=ReconnectPolicy(
                max_attempts=args.max_attempts, retry_server_errors=args.retry_5xx
            ),
            connect_timeout=args.connect_timeout,
            read_timeout=args.timeout,
            ssl_context=context,
            on_action=log if args.verbose else None,
        )
    except ValueError as error:
        print(f"sse_core: {error}", file=sys.stderr)
        return 2
    try:
        with source:
            for event in source:
                _print_event(event, sys.stdout, args.json)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error.  Keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SSEError as error:
        print(f"sse_core: {error}", file=sys.stderr)
        if isinstance(error, ResponseError) and error.body:
            print(error.body.decode("utf-8", "replace"), file=sys.stderr)
        return 1
    return 0


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
    get = commands.add_parser(
        "get",
        help="connect to an SSE endpoint and print its events",
        description="Connect to URL like a browser's EventSource and print each event as it"
        " arrives, reconnecting (with Last-Event-ID) when the connection drops or the"
        " stream ends.  Exits 0 when the server answers 204 (or the body ends under"
        " --max-attempts 0), 1 when it fails the connection (wrong status or content"
        " type) or retries run out, 130 on Ctrl-C.",
    )
    get.add_argument("url", help="http:// or https:// URL of the event stream")
    get.add_argument(
        "-H",
        "--header",
        action="append",
        type=_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header (repeatable)",
    )
    get.add_argument("-X", "--method", help="request method (default GET, or POST with -d)")
    get.add_argument(
        "-d", "--data", help="request body; @FILE reads a file, @- reads stdin (implies POST)"
    )
    get.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per event (keys: event, data, id)",
    )
    get.add_argument("--last-event-id", default="", metavar="ID", help="resume after this event ID")
    get.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="reconnect when the server is silent this long (default: wait for ever)",
    )
    get.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time allowed to connect (default 10)",
    )
    get.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        metavar="N",
        help="give up after N reconnections without an event (default: never; 0: no"
        " reconnection, exit 0 when the body ends)",
    )
    get.add_argument(
        "--retry-5xx", action="store_true", help="retry 5xx answers instead of failing"
    )
    get.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify the TLS certificate"
    )
    get.add_argument("--cacert", metavar="FILE", help="trust the CA certificates in FILE")
    get.add_argument(
        "-v", "--verbose", action="store_true", help="log connections and reconnections to stderr"
    )
    get.set_defaults(handler=_command_get)

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
