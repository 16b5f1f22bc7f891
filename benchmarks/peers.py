# SPDX-License-Identifier: MIT
"""Adapters: one function per library, decoding or encoding the same input.

Every decoder adapter takes a sequence of byte chunks and returns the events
as ``(type, data, last event ID)`` triples, building one triple per event, so
every library pays the same consumer cost and every event's ``data`` is
touched as ``str`` (nothing lazy is mistaken for speed).  A library's own
"no value" spellings (``None`` or ``""`` for the default type, ``None`` for no
ID) are normalised to the spec's (``"message"``, ``""``) in the same step.

Each library is driven through the path its users take: its public API where
it can be fed bytes without a network, otherwise the object its public API
wraps, with the reason given in ``how``.  Nothing is imported until a peer is
loaded; a missing library raises :class:`SkipPeer` with the reason, and the
runner reports it and carries on.

Encoder adapters get a list of events and return the encoded bytes; see
:data:`ENCODERS`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from benchmarks.reference import EventTriple

__all__ = ("DECODERS", "ENCODERS", "Decode", "Encode", "Peer", "SkipPeer")

Decode = Callable[[Sequence[bytes]], List[EventTriple]]
# Encoders get (data, event or None, id or None) items.
EncodeItem = Tuple[str, Optional[str], Optional[str]]
Encode = Callable[[List[EncodeItem]], Any]


class SkipPeer(Exception):
    """The peer cannot run here; the message says why."""


class Peer:
    """A library under test.

    Attributes:
        name: the label printed in the tables.
        distribution: the PyPI name (``pip install`` it to include the peer).
        how: the API the adapter drives, and anything unusual about it.
        is_parser: False for the baselines, which are not parsers/encoders
            and are left out of correctness checks and "fastest peer" ratios.
        is_ours: True for sse_core rows.
    """

    def __init__(
        self,
        name: str,
        distribution: str,
        how: str,
        loader: Callable[[], Any],
        *,
        is_parser: bool = True,
        is_ours: bool = False,
    ) -> None:
        self.name = name
        self.distribution = distribution
        self.how = how
        self._loader = loader
        self.is_parser = is_parser
        self.is_ours = is_ours

    def load(self) -> Any:
        """The adapter function; raises :class:`SkipPeer` if unavailable."""
        try:
            return self._loader()
        except ImportError as error:
            raise SkipPeer(f"not installed ({error}); pip install {self.distribution}") from None
        except Exception as error:  # an installed version with another API
            raise SkipPeer(f"cannot be driven: {type(error).__name__}: {error}") from None

    def version(self) -> str:
        if self.distribution in ("", "-"):
            return ""
        try:
            from importlib.metadata import version
        except ImportError:  # pragma: no cover - Python 3.7
            return "?"
        try:
            return version(self.distribution)
        except Exception:
            return "?"


# -- decoders ----------------------------------------------------------------


def _fed_per_chunk(make: Callable[[], Any]) -> Decode:
    """A decode function calling ``make()``'s ``feed`` per chunk, then ``close``."""

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        decoder = make()
        out: List[EventTriple] = []
        append = out.append
        for chunk in chunks:
            for event in decoder.feed(chunk):
                append((event.event, event.data, event.id))
        decoder.close()
        return out

    return decode


def _sse_core() -> Decode:
    from sse_core import Decoder

    return _fed_per_chunk(Decoder)


def _sse_core_iter() -> Decode:
    from sse_core import Decoder

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        return [(event.event, event.data, event.id) for event in Decoder().iter_events(chunks)]

    return decode


def _sse_core_aiter() -> Decode:
    from sse_core import Decoder

    async def source(chunks: Sequence[bytes]) -> Any:
        for chunk in chunks:
            yield chunk

    async def take(chunks: Sequence[bytes]) -> List[EventTriple]:
        return [
            (event.event, event.data, event.id)
            async for event in Decoder().aiter_events(source(chunks))
        ]

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        # The chunks are ready, so nothing waits: run the coroutine to its end
        # without an event loop, whose setup would be timed too.
        coroutine = take(chunks)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        raise AssertionError("aiter_events waited for something")

    return decode


def _limit() -> Decode:
    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        # NOT A PARSER: join, cut at blank lines (CRLF ones if the stream
        # starts with CRLF), decode each piece.  The cheapest pass over the
        # bytes that still yields one str per event; splitting bytes before
        # decoding keeps each str as narrow as its own characters allow.
        data = b"".join(chunks)
        blank = b"\r\n\r\n" if b"\r" in data[:4096] else b"\n\n"
        return [("message", block[6:].decode("utf-8"), "") for block in data.split(blank) if block]

    return decode


class Floor:
    """The least an incremental decoder does per chunk and per event: NOT A
    PARSER (one field name assumed, no limits, no CR).  Per chunk: join the
    held line, split on LF; per line, cut a 6-byte field name; per blank line,
    one event object (sse_core's Event, made the cheapest way) with its data
    decoded once.  A bound for designs called once per chunk."""

    def __init__(self) -> None:
        from sse_core import Event

        self.event_class = Event
        self.tail = bytearray()
        self.lines: List[bytes] = []

    def feed(self, data: bytes) -> List[Any]:
        tail = self.tail
        if 10 not in data:
            tail += data
            return []
        if tail:
            data = b"".join((tail, data))
            tail.clear()
        pieces = data.split(b"\n")
        tail += pieces.pop()
        out: List[Any] = []
        held = self.lines
        event_class = self.event_class
        for line in pieces:
            if line:
                held.append(line[6:])
            elif held:
                text = b"\n".join(held).decode("utf-8", "replace")
                out.append(tuple.__new__(event_class, (text, "message", "", None)))
                held = []
        self.lines = held
        return out

    def close(self) -> List[Any]:
        return []


def _floor() -> Decode:
    return _fed_per_chunk(Floor)


def floor_events(chunks: Iterable[bytes]) -> Iterator[Any]:
    """:class:`Floor` as a generator over the chunks, as ``iter_events`` is:
    NOT A PARSER.  The held line and the event being built stay in local
    variables, and each event is yielded as its blank line is read.  A bound
    for designs that loop over the chunks themselves."""
    from sse_core import Event

    tail = bytearray()
    held: List[bytes] = []
    for data in chunks:
        if 10 not in data:
            tail += data
            continue
        if tail:
            data = b"".join((tail, data))
            tail.clear()
        pieces = data.split(b"\n")
        tail += pieces.pop()
        for line in pieces:
            if line:
                held.append(line[6:])
            elif held:
                text = b"\n".join(held).decode("utf-8", "replace")
                held = []
                yield tuple.__new__(Event, (text, "message", "", None))


def _floor_iter() -> Decode:
    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        return [(event.event, event.data, event.id) for event in floor_events(chunks)]

    return decode


def checked_floor_events(chunks: Iterable[bytes], limit: int = 16 * 1024 * 1024) -> Iterator[Any]:
    """``floor iter`` plus the work on each chunk that sse_core's rules and
    guarantees leave no decoder free to skip.  NOT A PARSER either: it reads
    no field name, and does not pair a CRLF split across chunks.

    - The chunk's type: the decoder takes bytes-like chunks and refuses the
      rest with a clear error; only bytes can be cut and compared as is.
    - A CR ends a line as an LF does, so a chunk without an LF is searched for
      a CR too, and a chunk that ends in a CR says so (the next may start with
      the LF of a CRLF).  ``splitlines`` cuts at both.
    - A held line is bounded: past the limit, an error, not unbounded memory.
    """
    from sse_core import Event

    tail = bytearray()
    held: List[bytes] = []
    for data in chunks:
        if type(data) is not bytes:
            data = bytes(data)
        if 10 not in data and 13 not in data:
            tail += data
            if len(tail) > limit:
                raise ValueError("line too long")
            continue
        if tail:
            data = b"".join((tail, data))
            tail.clear()
        lines = data.splitlines()
        last = data[-1]
        if last != 10 and last != 13:
            tail += lines.pop()
        # floor_events' line loop, inline there too: the two baselines differ
        # only by the checks above, so neither pays a call the other does not.
        for line in lines:
            if line:
                held.append(line[6:])
            elif held:
                text = b"\n".join(held).decode("utf-8", "replace")
                held = []
                yield tuple.__new__(Event, (text, "message", "", None))


def _checked_floor_iter() -> Decode:
    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        return [(event.event, event.data, event.id) for event in checked_floor_events(chunks)]

    return decode


def _httpx_sse() -> Decode:
    import httpx
    from httpx_sse import EventSource

    headers = [("content-type", "text/event-stream")]

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        # An httpx.Response whose body streams our chunks: no network, the
        # same iter_text() path a live response takes.
        response = httpx.Response(200, headers=headers, content=iter(chunks))
        out: List[EventTriple] = []
        append = out.append
        for sse in EventSource(response).iter_sse():
            append((sse.event or "message", sse.data, sse.id or ""))
        response.close()
        return out

    return decode


def _stainless(module: str) -> Callable[[], Decode]:
    """openai and anthropic: the SSEDecoder their Stream classes use."""

    def load() -> Decode:
        import importlib

        decoder_class = importlib.import_module(module + "._streaming").SSEDecoder

        def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
            out: List[EventTriple] = []
            append = out.append
            for sse in decoder_class().iter_bytes(iter(chunks)):
                append((sse.event or "message", sse.data, sse.id or ""))
            return out

        return decode

    return load


def _sseclient_py() -> Decode:
    from sseclient import SSEClient

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        # Documented: SSEClient(event_source) over any iterable of bytes.
        out: List[EventTriple] = []
        append = out.append
        for event in SSEClient(iter(chunks)).events():
            append((event.event or "message", event.data, event.id or ""))
        return out

    return decode


def _launchdarkly() -> Decode:
    from ld_eventsource import SSEClient
    from ld_eventsource.config import ConnectionClient, ConnectionResult, ConnectStrategy

    class Client(ConnectionClient):  # type: ignore[misc]
        def __init__(self, chunks: Sequence[bytes]) -> None:
            self._chunks = chunks

        def connect(self, last_event_id: Optional[str]) -> Any:
            return ConnectionResult(iter(self._chunks), None)

        def close(self) -> None:
            pass

    class Strategy(ConnectStrategy):  # type: ignore[misc]
        def __init__(self, chunks: Sequence[bytes]) -> None:
            self._chunks = chunks

        def create_client(self, logger: Any) -> Any:
            return Client(self._chunks)

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        # Documented extension point: a ConnectStrategy that reads from
        # another source.  The default ErrorStrategy ends at end of stream.
        client = SSEClient(Strategy(chunks))
        out: List[EventTriple] = []
        append = out.append
        for event in client.events:
            append((event.event or "message", event.data, event.last_event_id or ""))
        client.close()
        return out

    return decode


class _EndOfStream(Exception):
    """Raised from an on_error callback to stop a client that would reconnect."""


def _stop(*args: object) -> None:
    raise _EndOfStream


def _aiohttp_sse_client() -> Decode:
    import logging

    import aiohttp
    from aiohttp_sse_client.client import EventSource

    # It logs a warning per invalid retry field (the correctness vectors have
    # some); keep the report readable.
    logging.getLogger("aiohttp_sse_client.client").setLevel(logging.ERROR)

    class Protocol:
        # What aiohttp's StreamReader asks of its protocol.
        connected = True

        def pause_reading(self, *args: object, **kwargs: object) -> None:
            pass

        def resume_reading(self, *args: object, **kwargs: object) -> None:
            pass

    class Response:
        status = 200

        def __init__(self, content: Any) -> None:
            self.content = content

        def close(self) -> None:
            pass

    async def run(chunks: Sequence[bytes]) -> List[EventTriple]:
        loop = asyncio.get_running_loop()
        # The StreamReader a live ClientResponse reads from, with aiohttp's
        # default read_bufsize (2**16), holding the chunks as they arrived.
        reader = aiohttp.StreamReader(Protocol(), 2**16, loop=loop)  # type: ignore[arg-type]
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        out: List[EventTriple] = []
        append = out.append
        async with aiohttp.ClientSession() as session:  # never used for I/O
            source = EventSource("http://bench.invalid/", session=session, on_error=_stop)
            source._response = Response(reader)
            try:
                async for event in source:
                    append((event.type or "message", event.data, event.last_event_id or ""))
            except _EndOfStream:
                pass
        return out

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        return asyncio.run(run(chunks))

    return decode


def _requests_sse() -> Decode:
    import requests
    from requests.adapters import BaseAdapter
    from requests_sse import EventSource

    class Raw:
        """The body of the response: hands over our chunks as they are."""

        def __init__(self, chunks: Sequence[bytes]) -> None:
            self._chunks = chunks

        def stream(self, amount: int, decode_content: bool = True) -> Any:
            return iter(self._chunks)

        def close(self) -> None:
            pass

    class Adapter(BaseAdapter):  # type: ignore[misc]
        """A requests transport adapter (public API) serving one stream."""

        def __init__(self, chunks: Sequence[bytes]) -> None:
            super().__init__()
            self._chunks = chunks

        def send(self, request: Any, **kwargs: Any) -> Any:
            response = requests.Response()
            response.status_code = 200
            response.reason = "OK"
            response.headers["Content-Type"] = "text/event-stream"
            response.raw = Raw(self._chunks)
            response.url = request.url
            response.request = request
            return response

        def close(self) -> None:
            pass

    def decode(chunks: Sequence[bytes]) -> List[EventTriple]:
        session = requests.Session()
        session.mount("http://bench.invalid/", Adapter(chunks))
        out: List[EventTriple] = []
        append = out.append
        source = EventSource("http://bench.invalid/", session=session, on_error=_stop)
        with source:
            try:
                for event in source:
                    append((event.type or "message", event.data, event.last_event_id or ""))
            except _EndOfStream:
                pass
        session.close()
        return out

    return decode


DECODERS: Tuple[Peer, ...] = (
    Peer(
        "sse_core", "sse-core", "Decoder().feed() per chunk, then close()", _sse_core, is_ours=True
    ),
    Peer(
        "sse_core iter",
        "sse-core",
        "Decoder().iter_events(<chunks>), the same decoder looping over the chunks itself",
        _sse_core_iter,
        is_ours=True,
    ),
    Peer(
        "sse_core aiter",
        "sse-core",
        "Decoder().aiter_events(<async generator of the chunks>), run without an event loop",
        _sse_core_aiter,
        is_ours=True,
    ),
    Peer(
        "httpx-sse",
        "httpx-sse",
        "EventSource(httpx.Response(content=<chunks>)).iter_sse()",
        _httpx_sse,
    ),
    Peer(
        "openai",
        "openai",
        "openai._streaming.SSEDecoder().iter_bytes() (private; what openai.Stream uses)",
        _stainless("openai"),
    ),
    Peer(
        "anthropic",
        "anthropic",
        "anthropic._streaming.SSEDecoder().iter_bytes() (private; what anthropic.Stream uses)",
        _stainless("anthropic"),
    ),
    Peer("sseclient-py", "sseclient-py", "SSEClient(<chunks>).events()", _sseclient_py),
    Peer(
        "launchdarkly",
        "launchdarkly-eventsource",
        "ld_eventsource.SSEClient(<custom ConnectStrategy>).events",
        _launchdarkly,
    ),
    Peer(
        "aiohttp-sse-client",
        "aiohttp-sse-client",
        "EventSource.__anext__ over a real aiohttp.StreamReader fed the chunks"
        " (set as the private _response: the client has no network-free path)",
        _aiohttp_sse_client,
    ),
    Peer(
        "requests-sse",
        "requests-sse",
        "EventSource over a requests.Session with a transport adapter serving the chunks",
        _requests_sse,
    ),
    Peer(
        "limit",
        "-",
        "NOT A PARSER: b''.join, split on blank lines, decode each piece (a speed bound)",
        _limit,
        is_parser=False,
    ),
    Peer(
        "floor",
        "-",
        "NOT A PARSER: per chunk, split on LF, cut field names, one Event per blank line"
        " (a bound for designs called once per chunk)",
        _floor,
        is_parser=False,
    ),
    Peer(
        "floor iter",
        "-",
        "NOT A PARSER: the floor as a generator over the chunks"
        " (a bound for designs that loop over the chunks, as iter_events does)",
        _floor_iter,
        is_parser=False,
    ),
    Peer(
        "floor iter+checks",
        "-",
        "NOT A PARSER: floor iter plus the checks no decoder of sse_core's rules may skip"
        " (chunk type, CR search, a CR at a chunk's end, the line limit): the checked floor",
        _checked_floor_iter,
        is_parser=False,
    ),
)


# -- encoders ----------------------------------------------------------------
#
# Each loader returns a function from a list of (data, event, id) items, event
# and id possibly None, to the encoded bytes (a list, or one bytes object for
# the batch paths).  Building the library's event object is part of the timed
# work: that is where validation happens.


def _enc_sse_core() -> Encode:
    from sse_core import Event, encode

    def run(items: List[EncodeItem]) -> List[bytes]:
        return [encode(Event(data, event or "message", id)) for data, event, id in items]

    return run


#: Events per encode_batch call: what a server might flush at once.
BATCH = 100


def _enc_sse_core_batch() -> Encode:
    from sse_core import Event, encode_batch

    def run(items: List[EncodeItem]) -> List[bytes]:
        return [
            encode_batch([Event(d, e or "message", i) for d, e, i in items[start : start + BATCH]])
            for start in range(0, len(items), BATCH)
        ]

    return run


def _enc_sse_core_batch_prebuilt() -> Encode:
    from sse_core import Event, encode_batch

    def prepare(items: List[EncodeItem]) -> List[Any]:
        # Untimed: this row times encode_batch alone, on events built earlier.
        return [Event(data, event or "message", id) for data, event, id in items]

    def run(events: List[Any]) -> List[bytes]:
        return [
            encode_batch(events[start : start + BATCH]) for start in range(0, len(events), BATCH)
        ]

    run.prepare = prepare  # type: ignore[attr-defined]
    return run


def _enc_fstring() -> Encode:
    def run(items: List[EncodeItem]) -> List[bytes]:
        # NOT AN ENCODER: no validation; multi-line data handled for LF only.
        out = []
        for data, event, id in items:
            if event is None and id is None and "\n" not in data:
                out.append(f"data: {data}\n\n".encode())
            else:
                lines = data.replace("\n", "\ndata: ")
                out.append(f"event: {event}\nid: {id}\ndata: {lines}\n\n".encode())
        return out

    return run


def _enc_sse_starlette() -> Encode:
    from sse_starlette import ServerSentEvent

    def run(items: List[EncodeItem]) -> List[bytes]:
        return [ServerSentEvent(data, event=event, id=id).encode() for data, event, id in items]

    return run


def _enc_fastapi() -> Encode:
    from fastapi.sse import ServerSentEvent, format_sse_event

    def run(items: List[EncodeItem]) -> List[bytes]:
        # What FastAPI's router does with each ServerSentEvent a path operation
        # yields (raw_data: pre-serialised text, as the other encoders get).
        out = []
        for data, event, id in items:
            item = ServerSentEvent(raw_data=data, event=event, id=id)
            out.append(
                format_sse_event(
                    data_str=item.raw_data,
                    event=item.event,
                    id=item.id,
                    retry=item.retry,
                    comment=item.comment,
                )
            )
        return out

    return run


def _enc_aiohttp_sse() -> Encode:
    from aiohttp_sse import EventSourceResponse

    async def main(items: List[EncodeItem]) -> List[bytes]:
        out: List[bytes] = []

        async def write(data: bytes) -> None:
            out.append(data)

        response = EventSourceResponse()
        # The transport write is stubbed: send() itself runs unchanged.
        response.write = write  # type: ignore[method-assign]
        send = response.send
        for data, event, id in items:
            await send(data, id=id, event=event)
        return out

    def run(items: List[EncodeItem]) -> List[bytes]:
        return asyncio.run(main(items))

    return run


def _enc_litestar() -> Encode:
    from litestar.response.sse import ServerSentEventMessage

    def run(items: List[EncodeItem]) -> List[bytes]:
        return [
            ServerSentEventMessage(data=data, event=event, id=id).encode()
            for data, event, id in items
        ]

    return run


ENCODERS: Tuple[Peer, ...] = (
    Peer(
        "sse_core encode", "sse-core", "encode(Event(...)) per event", _enc_sse_core, is_ours=True
    ),
    Peer(
        "sse_core encode_batch",
        "sse-core",
        f"encode_batch([Event(...) ...]) per {BATCH} events: Event() included",
        _enc_sse_core_batch,
        is_ours=True,
    ),
    Peer(
        "sse_core encode_batch*",
        "sse-core",
        f"encode_batch(prebuilt Events) per {BATCH} events: encoding alone",
        _enc_sse_core_batch_prebuilt,
        is_ours=True,
    ),
    Peer(
        "f-string",
        "-",
        'NOT AN ENCODER: f"data: {d}\\n\\n".encode() per event, no validation',
        _enc_fstring,
        is_parser=False,
    ),
    Peer("sse-starlette", "sse-starlette", "ServerSentEvent(...).encode()", _enc_sse_starlette),
    Peer(
        "fastapi.sse",
        "fastapi",
        "fastapi.sse.ServerSentEvent(raw_data=...) (pydantic) + format_sse_event()",
        _enc_fastapi,
    ),
    Peer(
        "aiohttp-sse",
        "aiohttp-sse",
        "await EventSourceResponse.send() with the transport write stubbed",
        _enc_aiohttp_sse,
    ),
    Peer(
        "litestar",
        "litestar",
        "litestar.response.sse.ServerSentEventMessage(...).encode()",
        _enc_litestar,
    ),
)
