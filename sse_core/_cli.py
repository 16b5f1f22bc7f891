# SPDX-License-Identifier: MIT
"""The command line: ``python -m sse_core COMMAND``.

Each command is a small function that parses nothing itself; argparse does.
Commands that need an adapter import it inside the function, so that
``python -m sse_core decode`` loads the core alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import BinaryIO, List, Optional, TextIO, Tuple

from ._client_http import get_header
from ._decoder import DEFAULT_MAX_EVENT_SIZE, Decoder
from ._errors import RemoteProtocolError, SSEError
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


def _escape(text: str, stream: TextIO) -> str:
    """``text`` with non-ASCII escaped, unless ``stream`` takes any text."""
    if _is_utf8(stream):
        return text
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _error(message: str) -> None:
    print(f"sse_core: {message}", file=sys.stderr, flush=True)


def _report_stream_error(error: SSEError) -> None:
    """Print ``error``; a broken limit also names the option that raises it."""
    hint = "; --max-event-size raises the limit" if type(error) is RemoteProtocolError else ""
    _error(f"{error}{hint}")


def decode_stream(
    source: BinaryIO,
    out: TextIO,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    name: str = "stdin",
) -> int:
    """Decode ``source`` to JSON lines on ``out``; return the exit status.

    0 when the input ends (a warning on stderr if it ended inside an event), 1
    when an event breaks ``max_event_size`` or ``source`` cannot be read (the
    events before it are printed).  A write to ``out`` raises as usual.
    """
    decoder = Decoder(max_event_size=max_event_size)
    ascii_only = not _is_utf8(out)
    read = getattr(source, "read1", source.read)
    try:
        while True:
            try:
                chunk = read(_CHUNK_SIZE)
            except OSError as error:
                _error(f"cannot read {name}: {error.strerror or error}")
                return 1
            if not chunk:
                break
            for event in decoder.feed(chunk):
                out.write(event_to_json(event, ascii_only) + "\n")
            out.flush()
        decoder.close()
    except SSEError as error:
        _report_stream_error(error)
        return 1
    if decoder.truncated:
        _error("the stream ended inside an event; it was discarded")
    return 0


def _command_decode(args: argparse.Namespace) -> int:
    if args.file == "-":
        return decode_stream(sys.stdin.buffer, sys.stdout, args.max_event_size)
    try:
        source = open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        _error(f"cannot read {args.file}: {error.strerror}")
        return 1
    with source:
        return decode_stream(source, sys.stdout, args.max_event_size, args.file)


def _header(value: str) -> Tuple[str, str]:
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {value!r}")
    return name.strip(), rest.strip()


def _print_event(event: Event, out: TextIO, as_json: bool) -> None:
    if as_json:
        record = {"event": event.event, "data": event.data, "id": event.id}
        out.write(json.dumps(record, ensure_ascii=not _is_utf8(out)) + "\n")
    else:
        label = event.event
        if event.id:
            label += f" id={event.id}"
        if event.retry is not None:
            label += f" retry={event.retry}"
        out.write(_escape(f"[{label}]\n{event.data}\n\n", out))
    out.flush()


class _Progress:
    """What ``get`` says on stderr as its EventSource acts (an ``on_action``).

    Every failed attempt gets a line, saying what failed and when the next
    try comes; with ``verbose``, so does each request, response and
    reconnection.
    """

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._url = ""
        self._open = False  # whether the last response opened a stream
        self._last: object = None

    def __call__(self, action: object) -> None:
        from ._reconnect import Connect, Open, Stop, Wait

        last, self._last = self._last, action
        if type(action) is Connect:
            self._url, self._open = action.url, False
            last_id = get_header(action.headers, "last-event-id")
            resume = f" (Last-Event-ID: {last_id})" if last_id else ""
            redirected = " (redirected)" if type(last) is Connect else ""
            self._say(f"> {action.method} {action.url}{resume}{redirected}")
        elif type(action) is Open:
            self._open = True
            self._say(f"< {action.status} {get_header(action.headers, 'content-type')}")
        elif type(action) is Wait:
            self._say_status(action.error)
            if action.error is None:
                self._say(f"* reconnecting in {action.delay:.2f}s after end of stream")
            else:
                _error(f"{self.failure(action.error)}; retrying in {action.delay:.2f}s")
        else:
            assert type(action) is Stop
            self._say_status(action.error)
            if action.status == 204:
                self._say("< 204: the server asked to stop")
            elif action.error is None:
                self._say("* the stream ended")

    def failure(self, error: Optional[BaseException]) -> str:
        """What went wrong with the last request, in words; ``error`` caused it."""
        from ._reconnect import ResponseError

        if error is None:
            return f"the stream from {self._url} ended"
        if isinstance(error, ResponseError):
            return str(error)  # names the URL and the status
        reason = (
            (error.strerror if isinstance(error, OSError) else None) or str(error) or repr(error)
        )
        if self._open:
            return f"lost the stream from {self._url}: {reason}"
        return f"cannot connect to {self._url}: {reason}"

    def _say_status(self, error: Optional[BaseException]) -> None:
        """Log the status line of a response that failed, directly or at last."""
        from ._reconnect import ReconnectLimitError, ResponseError

        cause = error.__cause__ if type(error) is ReconnectLimitError else error
        if isinstance(cause, ResponseError):
            self._say(f"< {cause.status} {cause.content_type or '(no Content-Type)'}")

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stderr, flush=True)


#: Lines of a failed response's body that ``get`` shows, and characters of each.
_BODY_LINES = 5
_BODY_LINE_WIDTH = 200


def _show_body(body: bytes, read_limit: int) -> None:
    """Print the start of a failed response's ``body`` (the server's reason).

    Short bodies are printed whole; of longer ones (an HTML error page, say),
    the first lines and how long the body was.
    """
    lines = body.decode("utf-8", "replace").splitlines()
    shown = [line[:_BODY_LINE_WIDTH] for line in lines[:_BODY_LINES]]
    print("\n".join(shown), file=sys.stderr)
    if shown != lines:
        size = f"{len(body)}-byte" if len(body) < read_limit else f"{read_limit}-byte or longer"
        _error(
            f"(that was the start of a {size} body: its first {len(shown)} line(s),"
            f" each cut at {_BODY_LINE_WIDTH} characters)"
        )


def _command_get(args: argparse.Namespace) -> int:
    import ssl

    from ._reconnect import ReconnectLimitError, ReconnectPolicy, ResponseError, Resume
    from .client import _ERROR_BODY_SIZE, EventSource

    body: Optional[bytes] = None
    if args.data is not None:
        if args.data.startswith("@"):
            name = args.data[1:]
            if name == "-":
                body = sys.stdin.buffer.read()
            else:
                try:
                    with open(name, "rb") as file:
                        body = file.read()
                except OSError as error:
                    _error(f"cannot read {name}: {error.strerror}")
                    return 1
        else:
            body = args.data.encode("utf-8")
    method = args.method or ("POST" if body is not None else "GET")
    context = None
    if args.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif args.cacert:
        try:
            context = ssl.create_default_context(cafile=args.cacert)
        except OSError as error:  # ssl.SSLError included: not a PEM file
            _error(f"cannot load CA certificates from {args.cacert}: {error.strerror or error}")
            return 1

    progress = _Progress(args.verbose)
    try:
        source = EventSource(
            args.url,
            method=method,
            headers=args.header,
            body=body,
            last_event_id=args.last_event_id,
            policy=ReconnectPolicy(
                initial_delay=args.retry_delay,
                max_attempts=args.max_attempts,
                retry_server_errors=args.retry_5xx,
            ),
            connect_timeout=args.connect_timeout,
            read_timeout=args.timeout,
            ssl_context=context,
            max_event_size=args.max_event_size,
            on_action=progress,
            resume=Resume(headers=args.header) if args.resume_get else None,
        )
    except ValueError as error:
        _error(str(error))
        return 2
    try:
        with source:
            for event in source:
                _print_event(event, sys.stdout, args.json)
    except ReconnectLimitError as error:
        if not args.resume_get and method not in ("GET", "HEAD"):
            # The machine never sends a POST again unasked (it may have run something).
            _error(
                f"{progress.failure(error.__cause__)}; not sending {method} again"
                " (--resume-get reconnects with a GET)"
            )
            return 1
        tries = error.attempts + 1
        _error(
            f"{progress.failure(error.__cause__)}; giving up after {tries} attempt(s) in a row"
            f" without an event (--max-attempts {args.max_attempts})"
        )
        return 1
    except SSEError as error:
        _report_stream_error(error)
        if isinstance(error, ResponseError) and error.body:
            _show_body(error.body, _ERROR_BODY_SIZE)
        return 1
    return 0


def _command_demo(args: argparse.Namespace) -> int:
    from . import _demo

    try:
        _demo.serve(
            args.host, args.port, server=args.server, interval=args.interval, journal=args.journal
        )
    except OSError as error:  # the address is taken, or not this machine's
        _error(f"cannot serve on {args.host} port {args.port}: {error.strerror or error}")
    # serve() runs until Ctrl-C (KeyboardInterrupt, handled in main); it
    # returns only by raising, so reaching here means it failed.
    return 1


def _seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _integer(text: str, minimum: int, maximum: Optional[int] = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(f"must be {minimum} to {maximum}, got {text}")
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {text}")
    return value


def _count(text: str) -> int:
    return _integer(text, 0)


def _size(text: str) -> int:
    return _integer(text, 1)


def _port(text: str) -> int:
    return _integer(text, 0, 65535)


def _add_max_event_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-event-size",
        type=_size,
        default=DEFAULT_MAX_EVENT_SIZE,
        metavar="BYTES",
        help="fail on a line or an event's data longer than this many UTF-8 bytes"
        f" (default {DEFAULT_MAX_EVENT_SIZE}: 16 MiB)",
    )


def _program_name() -> str:
    """The command as the user typed it: ``sse-core``, or ``python -m sse_core``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if name in ("", "-c", "__main__.py"):
        return f"python -m {__package__}"  # the package's name, as vendored too
    return name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_program_name(), description="Server-Sent Events tools.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    decode = commands.add_parser(
        "decode",
        help="decode a text/event-stream into JSON lines",
        description="Read an event stream and print one JSON object per event"
        " (keys: event, data, id, retry) as it arrives.  Exits 0 at the end of the"
        " input (warning on stderr if it ended inside an event) or when the output"
        " pipe closes, 1 when the input cannot be read or breaks --max-event-size,"
        " 2 for a usage error, 130 on Ctrl-C.",
    )
    decode.add_argument("file", nargs="?", default="-", help="input file (default: stdin)")
    _add_max_event_size(decode)
    decode.set_defaults(handler=_command_decode)
    get = commands.add_parser(
        "get",
        help="connect to an SSE endpoint and print its events",
        description="Connect to URL like a browser's EventSource and print each event as it"
        " arrives, reconnecting (with Last-Event-ID) when the connection drops or the"
        " stream ends.  Each failed attempt is reported on stderr with the delay before the"
        " next; by default it retries for ever.  Exits 0 when the server answers 204 (or the"
        " body ends under --max-attempts 0, or the output pipe closes), 1 when it fails the"
        " connection (wrong status or content type), an event breaks --max-event-size or"
        " --max-attempts runs out (it says it gives up), 2 for a usage error (a bad URL"
        " too), 130 on Ctrl-C.",
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
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="reconnect when the server is silent this long (default: wait for ever)",
    )
    get.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="time allowed to connect (default 10)",
    )
    get.add_argument(
        "--max-attempts",
        type=_count,
        default=None,
        metavar="N",
        help="give up (exit 1) after N reconnections in a row without an event (default:"
        " never; 0: no reconnection, exit 0 when the body ends)",
    )
    get.add_argument(
        "--retry-delay",
        type=_seconds,
        default=3.0,
        metavar="SECONDS",
        help="wait before reconnecting, until the server sends 'retry:' (default"
        " %(default)s; after a failure in a row, at least 0.1 doubled per failure, up"
        " to 30, plus up to half again at random)",
    )
    get.add_argument(
        "--retry-5xx", action="store_true", help="retry 5xx answers instead of failing"
    )
    get.add_argument(
        "--resume-get",
        action="store_true",
        help="reconnect with a GET of the URL carrying the -H headers, never the first"
        " request again (MCP's Streamable HTTP: resume a POST's stream)",
    )
    get.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify the TLS certificate"
    )
    get.add_argument("--cacert", metavar="FILE", help="trust the CA certificates in FILE")
    _add_max_event_size(get)
    get.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request, response status and reconnection to stderr",
    )
    get.set_defaults(handler=_command_get)

    demo = commands.add_parser(
        "demo",
        help="serve an agent task board over server-sent events (and MCP at /mcp)",
        description="Serve a task board at /: submit a task and watch a simulated agent's"
        " output stream in from /tasks/<id>/events, with the board's notifications from"
        " /events, all through the browser's EventSource and resumable after"
        " Last-Event-ID; agents use the board over MCP (Streamable HTTP) at /mcp."
        "  Standard library only."
        "  Runs until Ctrl-C (exit 130); exits 1 when it cannot listen on --host/--port.",
    )
    demo.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default 8000; 0 picks one)"
    )
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
        type=_seconds,
        default=1.0,
        help="seconds an agent takes per step (default 1)",
    )
    demo.add_argument(
        "--journal",
        default=None,
        help="file the board keeps its notifications in, to carry on after a restart"
        " (default: sse_core-demo-PORT.jsonl in the temporary directory; '' for none)",
    )
    demo.set_defaults(handler=_command_demo)
    return parser


def _silence_stdout() -> None:
    """Point stdout at the null device, so Python's flush at exit finds no pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file: nothing flushes to a pipe
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status.

    Usage errors exit 2 (argparse raises ``SystemExit``).  A closed output
    pipe (``| head``) ends the command quietly with 0; Ctrl-C with 130.
    """
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    return status
