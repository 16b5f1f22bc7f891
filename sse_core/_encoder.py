# SPDX-License-Identifier: MIT
"""The encoder: events and comments in, UTF-8 ``text/event-stream`` bytes out.

Injection safety rests on two layers: :class:`Event` refuses an ``event`` or
``id`` that holds a line break (and an ``id`` with NUL) when it is built, and
the encoder splits ``data`` and comments on every line ending the decoder
recognises (CRLF, LF and a lone CR), so no value can end a line early or start
another event.  The output always decodes back to the same event: data with its
line endings turned into LF, the one thing the format cannot carry.
"""

from __future__ import annotations

from itertools import repeat
from typing import Iterable, List, NoReturn, Optional, Sequence

from ._errors import LocalProtocolError
from ._events import MAX_RETRY, Event

_CR = 13
_LF = 10

__all__ = ("encode", "encode_batch", "encode_comment")


def _data_text(data: str) -> str:
    """``data`` as data lines and the blank line that ends the event."""
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    # Every line becomes a data line: one C-level replace, which returns a
    # one-line value unchanged.
    return "data: " + data.replace("\n", "\ndata: ") + "\n\n"


def _event_text(event: Event) -> str:
    """The wire text of one event; ``event`` is an :class:`Event`."""
    data, kind, id, retry = event
    # Event() refused all of this already; checking again costs little and
    # keeps an event built around the constructor (with tuple.__new__) from
    # injecting a line or writing what a client would misread: what the
    # encoder writes, it validates.
    if (
        type(data) is not str
        or type(kind) is not str
        or (kind != "message" and ("\n" in kind or "\r" in kind))
        or (id is not None and (type(id) is not str or "\n" in id or "\r" in id or "\0" in id))
        or (retry is not None and (type(retry) is not int or not 0 <= retry <= MAX_RETRY))
    ):
        _refuse(event)
    text = _data_text(data)
    if kind == "message" and id is None and retry is None:
        return text
    head = "" if kind == "message" else "event: " + kind + "\n"
    if id is not None:
        head += "id: " + id + "\n"
    if retry is not None:
        head += f"retry: {retry}\n"
    return head + text


def _refuse(event: Event) -> NoReturn:
    """Raise for an event built around the constructor that the constructor
    would have refused: its error (TypeError or LocalProtocolError)."""
    # (No repr of the event: a retry of 5000 digits has none on Python 3.11.)
    try:
        Event(*event)
    except (TypeError, LocalProtocolError) as error:
        raise type(error)(f"refusing to encode an Event: {error}") from None
    # The checks that call this are Event()'s own.
    raise AssertionError("unreachable")  # pragma: no cover


def _plain_bytes(values: Sequence[str]) -> bytes:
    """The wire bytes of consecutive events that have only data.

    Values are encoded one by one and joined as bytes: joining them as text
    first would widen them all to the widest character among them.
    """
    # str.encode, not value.encode: TypeError for another type, and the
    # characters themselves for a str subclass.
    encoded = list(map(str.encode, values))
    joined = b"".join(encoded)
    if _LF not in joined and _CR not in joined:
        # One line each: a single join writes them all.
        return b"data: " + b"\n\ndata: ".join(encoded) + b"\n\n"
    if set(map(type, values)) != {str}:  # _data_text uses their methods
        raise TypeError("a data value that is not exactly a str")
    return b"".join([_data_text(value).encode() for value in values])


def _surrogate_error(error: UnicodeEncodeError) -> LocalProtocolError:
    # Only lone surrogates get here; a str from a decoder never has them.
    return LocalProtocolError(f"cannot encode a lone surrogate as UTF-8: {error}")


def encode(event: Event) -> bytes:
    """Serialise one event, ending with the blank line that dispatches it.

    Fields are written in the order ``event``, ``id``, ``retry``, ``data``;
    ``event`` is left out when it is ``"message"`` (the default type), ``id``
    and ``retry`` when they are ``None``.  Data is always written, so an event
    with empty data still reaches the client.

    Example::

        >>> encode(Event(data="x", event="update", id="7", retry=3000))
        b'event: update\\nid: 7\\nretry: 3000\\ndata: x\\n\\n'

    Raises:
        TypeError: ``event`` is not an :class:`Event`.
        LocalProtocolError: a field holds a lone surrogate (not UTF-8), or a
            line break (possible only for an event built around its
            constructor).
    """
    if type(event) is not Event:
        raise TypeError(f"expected an Event, got {type(event).__name__}")
    try:
        return _event_text(event).encode()
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None


def encode_batch(events: Iterable[Event]) -> bytes:
    """Serialise many events into one bytes object (one write, one syscall).

    Equivalent to ``b"".join(map(encode, events))``, but faster: a batch whose
    events share a shape (data only, or each with an ``event`` type and an
    ``id``) is checked field by field across the whole batch at C speed, and a
    run of one-line data is written with a single join.

    Raises:
        TypeError, LocalProtocolError: as :func:`encode`.
    """
    batch = list(events)
    try:
        return _batch_bytes(batch)
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None


def _batch_bytes(batch: List[Event]) -> bytes:
    """The wire bytes of a list of events, by the fastest path that fits it.

    Each event is encoded on its own and the bytes joined (see _plain_bytes).
    """
    count = len(batch)
    if count and set(map(type, batch)) == {Event}:
        datas, kinds, ids, retries = zip(*batch)
        if retries.count(None) == count:
            # Fields of another type than Event() allows (an event built
            # around the constructor) make the C-level joins and str methods
            # below raise TypeError: the general path then refuses the event.
            try:
                # Event() refused line breaks in these; the joins check again
                # for events built around it, as _event_text does (a join
                # copies the characters, so a str subclass cannot hide one).
                names = "".join(kinds)
                messages = kinds.count("message")
                if messages == count and ids.count(None) == count:
                    return _plain_bytes(datas)
                if not messages:
                    values_text = "".join(ids)
                    if (
                        "\n" not in names
                        and "\r" not in names
                        and "\n" not in values_text
                        and "\r" not in values_text
                        and "\0" not in values_text
                    ):
                        encoded = _typed_bytes(datas, kinds, ids)
                        if encoded is not None:
                            return encoded
            except TypeError:
                pass
    return _mixed_bytes(batch)


def _typed_bytes(datas: Sequence[str], kinds: Sequence[str], ids: Sequence[str]) -> Optional[bytes]:
    """The wire bytes of events that each have an ``event`` type and an ``id``
    (``event``, ``id`` and data lines in that order), or None if some data
    holds a CR, which the general path handles."""
    lines = list(map(str.replace, datas, repeat("\n"), repeat("\ndata: ")))
    # The fields dropped into a repeated template, then one join and one
    # encode for the whole batch: no string is built per event.
    parts = ["event: ", "", "\nid: ", "", "\ndata: ", "", "\n\n"] * len(lines)
    parts[1::7] = kinds
    parts[3::7] = ids
    parts[5::7] = lines
    text = "".join(parts)
    if "\r" in text:  # from data: neither the template nor the fields have one
        return None
    if text.isascii():  # O(1): CPython records it
        return text.encode()
    # One join widened every event to the widest character among them (see
    # _plain_bytes): encode them one by one instead.
    return b"".join(
        [
            "".join(("event: ", kind, "\nid: ", id, "\ndata: ", data, "\n\n")).encode()
            for kind, id, data in zip(kinds, ids, lines)
        ]
    )


def _mixed_bytes(events: List[Event]) -> bytes:
    """The wire bytes of events of any shapes, one at a time."""
    parts: List[bytes] = []
    plain: List[str] = []  # data of the current run of data-only events
    for event in events:
        if type(event) is not Event:
            raise TypeError(f"expected an Event, got {type(event).__name__}")
        if (
            event[2] is None
            and event[3] is None
            and type(event[0]) is str
            and type(event[1]) is str
            and event[1] == "message"
        ):
            plain.append(event[0])
            continue
        if plain:
            parts.append(_plain_bytes(plain))
            plain = []
        parts.append(_event_text(event).encode())
    if plain:
        parts.append(_plain_bytes(plain))
    return b"".join(parts)


def encode_comment(text: str = "") -> bytes:
    """Serialise a comment, which clients ignore: use it as a heartbeat.

    Each line of ``text`` becomes its own comment line, so a comment cannot
    smuggle in a field.  No blank line follows: a comment dispatches nothing.

    Example::

        >>> encode_comment("keep-alive")
        b': keep-alive\\n'
        >>> encode_comment()
        b':\\n'

    Raises:
        TypeError: ``text`` is not a ``str``.
        LocalProtocolError: ``text`` holds a lone surrogate.
    """
    if type(text) is not str:
        raise TypeError(f"comment text must be str, not {type(text).__name__}")
    if not text:
        return b":\n"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    try:
        return "".join([": " + line + "\n" for line in lines]).encode()
    except UnicodeEncodeError as error:
        raise _surrogate_error(error) from None
