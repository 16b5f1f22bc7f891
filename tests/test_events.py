# SPDX-License-Identifier: MIT
"""The :class:`Event` record: validation, normalisation, value semantics, pickling."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import sse_core
from sse_core import Decoder, Event, LocalProtocolError

# -- validation ---------------------------------------------------------------------


class Text(str):
    pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": b"x"},
        {"data": None},
        {"data": 1},
        {"data": Text("x")},
        {"event": None},
        {"event": b"e"},
        {"event": Text("e")},
        {"id": b"1"},
        {"id": 1},
        {"id": Text("1")},
        {"retry": 1.0},
        {"retry": "5"},
        {"retry": True},
        {"retry": False},
    ],
    ids=repr,
)
def test_wrong_types_raise_type_error(kwargs: Any) -> None:
    with pytest.raises(TypeError):
        Event(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "a\nb"},
        {"event": "a\rb"},
        {"event": "\r\n"},
        {"event": "\n"},
        {"event": "a\r"},
        {"id": "a\nb"},
        {"id": "a\rb"},
        {"id": "\r\n"},
        {"id": "1\n"},
        {"id": "a\x00b"},
        {"id": "\x00"},
        {"retry": -1},
        {"retry": -(10**30)},
    ],
    ids=repr,
)
def test_values_that_could_inject_raise_local_protocol_error(kwargs: Any) -> None:
    with pytest.raises(LocalProtocolError):
        Event(**kwargs)


def test_local_protocol_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Event(event="a\nb")


def test_defaults() -> None:
    event = Event()
    assert (event.data, event.event, event.id, event.retry) == ("", "message", None, None)


def test_empty_event_type_is_message() -> None:
    assert Event("x", "").event == "message"
    assert Event("x", "") == Event("x")


def test_allowed_values() -> None:
    # Data may hold anything, line breaks included (the encoder splits them);
    # the event type may hold NUL; 0 and huge retry values are valid.
    event = Event("a\r\nb\rc\n\x00", "e\x00 \u2028", "", 0)
    assert (event.data, event.event, event.id, event.retry) == (
        "a\r\nb\rc\n\x00",
        "e\x00 \u2028",
        "",
        0,
    )
    assert Event(retry=10**20).retry == 10**20
    assert Event(id=" \u2028\u0085").id == " \u2028\u0085"


def test_positional_arguments() -> None:
    assert Event("d", "e", "i", 1) == Event(data="d", event="e", id="i", retry=1)


# -- immutability ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["data", "event", "id", "retry", "other"])
def test_attributes_cannot_be_set(name: str) -> None:
    event = Event("x")
    with pytest.raises(AttributeError):
        setattr(event, name, "y")
    with pytest.raises(AttributeError):
        delattr(event, name)
    assert event == Event("x")


def test_no_instance_dict() -> None:
    assert not hasattr(Event("x"), "__dict__")


# -- value semantics ------------------------------------------------------------------


def test_equality_by_value() -> None:
    assert Event("a", "e", "1", 2) == Event("a", "e", "1", 2)
    assert (Event("a", "e", "1", 2) != Event("a", "e", "1", 2)) is False
    assert Event("a") != Event("b")
    assert Event("a", "e") != Event("a", "f")
    assert Event("a", id="") != Event("a")
    assert Event("a", retry=0) != Event("a")


def test_not_equal_to_a_plain_tuple() -> None:
    # sse_core/_events.py: "A plain tuple with the same items is not an Event."
    event = Event("a")
    items = ("a", "message", None, None)
    assert tuple(event) == items
    assert event != items
    assert items != event
    assert (event == items) is False
    assert (items == event) is False
    assert [event] != [items]


def test_not_equal_to_other_types() -> None:
    assert Event("a") != "a"
    assert Event("a") != ["a", "message", None, None]
    assert Event("a") != None  # noqa: E711
    assert (Event("a") == "a") is False
    assert (Event("a") == 1) is False


def test_other_types_decide_equality_themselves() -> None:
    # Event returns NotImplemented for a non-tuple, so the other operand's
    # comparison is tried, as for any well-behaved value type.
    class EqualToAll:
        def __eq__(self, other: object) -> bool:
            return True

        def __ne__(self, other: object) -> bool:
            return False

        __hash__ = None  # type: ignore[assignment]

    assert Event("a") == EqualToAll()
    assert (Event("a") != EqualToAll()) is False


def test_hashing() -> None:
    assert hash(Event("a", "e", "1", 2)) == hash(Event("a", "e", "1", 2))
    assert len({Event("a"), Event("a"), Event("b")}) == 2
    assert {Event("a"): 1}[Event("a")] == 1


def test_is_a_four_tuple() -> None:
    data, kind, id, retry = Event("d", "e", "i", 3)
    assert (data, kind, id, retry) == ("d", "e", "i", 3)
    assert len(Event()) == 4


def test_repr_exact() -> None:
    assert repr(Event("x")) == "Event(data='x', event='message', id=None, retry=None)"
    assert (
        repr(Event("it's\n", "update", "", 5))
        == "Event(data=\"it's\\n\", event='update', id='', retry=5)"
    )


def test_repr_evaluates_back() -> None:
    event = Event("a\r\nb\x00", "e", "7", 0)
    assert eval(repr(event), {"Event": Event}) == event


def test_decoded_events_are_exactly_events() -> None:
    (event,) = Decoder().feed(b"event: e\nid: 1\nretry: 2\ndata: x\n\n")
    assert type(event) is Event
    assert event == Event("x", "e", "1", 2)
    assert repr(event) == "Event(data='x', event='e', id='1', retry=2)"


# -- pickle and copy ------------------------------------------------------------------

SAMPLES = [Event(), Event("a\nb", "e", "1", 5), Event("", "x\x00", "", 0)]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("event", SAMPLES, ids=repr)
def test_pickle_round_trip(event: Event, protocol: int) -> None:
    clone = pickle.loads(pickle.dumps(event, protocol))
    assert clone == event
    assert type(clone) is Event


@pytest.mark.parametrize("event", SAMPLES, ids=repr)
def test_copy_round_trip(event: Event) -> None:
    for clone in (copy.copy(event), copy.deepcopy(event)):
        assert clone == event
        assert type(clone) is Event


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(
    "items",
    [
        ("x", "a\nb", None, None),
        ("x", "message", "1\r", None),
        ("x", "message", "\x00", None),
        ("x", "message", None, -5),
        (b"x", "message", None, None),
    ],
    ids=repr,
)
def test_unpickling_revalidates(items: Any, protocol: int) -> None:
    # An invalid Event built behind the constructor's back (tuple.__new__, the
    # decoder's private fast path) is checked again when unpickled or copied.
    forged = tuple.__new__(Event, items)
    data = pickle.dumps(forged, protocol)
    with pytest.raises((LocalProtocolError, TypeError)):
        pickle.loads(data)
    with pytest.raises((LocalProtocolError, TypeError)):
        copy.copy(forged)


def test_unpickling_normalises_empty_event_type() -> None:
    forged = tuple.__new__(Event, ("x", "", None, None))
    assert pickle.loads(pickle.dumps(forged)).event == "message"


def test_retry_bounds_match_what_the_decoder_reads_back() -> None:
    # Event refuses a retry the decoder would ignore, so encode() never fails
    # on a valid event and every valid retry round-trips.
    assert Event(retry=sse_core.MAX_RETRY).retry == sse_core.MAX_RETRY
    with pytest.raises(LocalProtocolError, match="4300 digits"):
        Event(retry=sse_core.MAX_RETRY + 1)
    decoder = sse_core.Decoder()
    events = decoder.feed(sse_core.encode(Event("x", retry=sse_core.MAX_RETRY)))
    assert events[0].retry == sse_core.MAX_RETRY == decoder.retry
