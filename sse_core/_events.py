# SPDX-License-Identifier: MIT
"""The :class:`Event` record: what the decoder emits and the encoder accepts.

The decoder builds one ``Event`` per dispatched event on its hottest path, so
the class is a tuple underneath: ``tuple.__new__`` is the cheapest immutable,
slotted, value-compared object CPython can build (about 65 ns, against 260 ns
for a frozen slotted class; ``benchmarks/event_construction.py`` measures it).
The public constructor validates; the decoder calls ``tuple.__new__(Event, ...)``
directly, skipping validation, because its output is valid by construction.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, Optional, Tuple

from ._errors import LocalProtocolError

__all__ = ("Event",)

_EventTuple = Tuple[str, str, Optional[str], Optional[int]]

# Decimal digits a retry value may have: CPython 3.11+ refuses to convert
# longer ints to and from strings (and the conversion is quadratic), so the
# decoder ignores longer values and the encoder refuses them.
MAX_RETRY_DIGITS = 4300

#: The largest ``retry`` an Event accepts (4300 nines): anything that can be
#: written, and read back by the decoder.
MAX_RETRY = 10**MAX_RETRY_DIGITS - 1


def _line_break_error(name: str, value: str) -> LocalProtocolError:
    # A line break would inject a line; a NUL makes a client ignore the id.
    forbidden = "CR, LF or NUL" if name == "id" else "CR or LF"
    return LocalProtocolError(f"Event {name} must not contain {forbidden} (got {value!r:.80})")


def _type_error(name: str, expected: str, value: object) -> TypeError:
    return TypeError(f"Event {name} must be {expected}, not {type(value).__name__}")


class Event(_EventTuple):
    """One server-sent event.

    Events are immutable, compare by value, hash, pickle and print as
    ``Event(data='...', event='message', id=None, retry=None)``.  Do not
    subclass them: the library checks ``type(x) is Event``.

    Attributes:
        data: the event's data.  Decoded events join ``data`` lines with
            ``"\\n"``; the encoder accepts any line endings (``\\r\\n``,
            ``\\r``, ``\\n``) and writes one ``data:`` line per line.
        event: the event type.  ``""`` is normalised to ``"message"``, the
            type the WHATWG algorithm gives events without an ``event`` field.
        id: on a decoded event, the stream's last event ID when the event was
            dispatched (``""`` when none was set), as ``MessageEvent.lastEventId``
            is in a browser.  On an event to encode, ``None`` writes no ``id``
            field and ``""`` writes an empty one, which resets the client's last
            event ID.
        retry: the reconnection time in milliseconds.  On a decoded event, the
            value of a valid ``retry`` field inside this event's block, else
            ``None``; the decoder's ``retry`` attribute tracks the stream-wide
            value.  On an event to encode, ``None`` writes no ``retry`` field.

    Raises:
        TypeError: a field has the wrong type.
        LocalProtocolError: ``event`` contains CR or LF; ``id`` contains CR,
            LF or NUL (a client would ignore it); ``retry`` is negative or
            over :data:`MAX_RETRY`.
    """

    __slots__ = ()

    def __new__(
        cls,
        data: str = "",
        event: str = "message",
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> Event:
        # Checks inline and defaults first: encoding one event often costs
        # less than building it, so this constructor is on the hot path too.
        if type(data) is not str:
            raise _type_error("data", "str", data)
        if type(event) is not str:
            raise _type_error("event", "str", event)
        if event != "message":
            if "\n" in event or "\r" in event:
                raise _line_break_error("event", event)
            if not event:
                event = "message"
        if id is not None:
            if type(id) is not str:
                raise _type_error("id", "str or None", id)
            if "\n" in id or "\r" in id or "\0" in id:
                raise _line_break_error("id", id)
        if retry is not None:
            if type(retry) is not int:
                raise _type_error("retry", "int or None", retry)
            if retry < 0:
                raise LocalProtocolError(f"Event retry must be >= 0, got {retry}")
            if retry > MAX_RETRY:
                raise LocalProtocolError(f"Event retry must have at most {MAX_RETRY_DIGITS} digits")
        return tuple.__new__(cls, (data, event, id, retry))

    if TYPE_CHECKING:  # pragma: no cover - the runtime uses C-level getters below

        @property
        def data(self) -> str: ...
        @property
        def event(self) -> str: ...
        @property
        def id(self) -> Optional[str]: ...
        @property
        def retry(self) -> Optional[int]: ...

    else:
        # The C-level getters namedtuple uses, where there are (CPython):
        # half the cost of property(itemgetter(i)) for every field read.
        try:
            from _collections import _tuplegetter as _getter
        except ImportError:  # pragma: no cover - PyPy

            def _getter(index, doc):
                return property(itemgetter(index), doc=doc)

        data = _getter(0, "The event's data (str).")
        event = _getter(1, "The event type (str).")
        id = _getter(2, "The last event ID (str or None).")
        retry = _getter(3, "Reconnection time in ms (int or None).")
        del _getter

    def __repr__(self) -> str:
        return f"Event(data={self[0]!r}, event={self[1]!r}, id={self[2]!r}, retry={self[3]!r})"

    # A plain tuple with the same items is not an Event, in either order of
    # comparison: as a tuple subclass, Event's methods are tried first.
    def __eq__(self, other: object) -> bool:
        if type(other) is Event:
            return tuple.__eq__(self, other)
        if isinstance(other, tuple):
            return False
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if type(other) is Event:
            return tuple.__ne__(self, other)
        if isinstance(other, tuple):
            return True
        return NotImplemented

    __hash__ = tuple.__hash__

    def __getnewargs__(self) -> Tuple[Any, ...]:
        # Pickle and copy go through __new__, so they validate like the constructor.
        return tuple(self)
