# SPDX-License-Identifier: MIT
"""The server side's pure helpers: headers, Last-Event-ID, items; the Shutdown switch."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List, Optional, Union, cast

import pytest

from sse_core import Event, LocalProtocolError
from sse_core._http import (
    MAX_LAST_EVENT_ID_LENGTH,
    encode_item,
    last_event_id_from_asgi_headers,
    last_event_id_from_environ,
    response_headers,
    sanitise_last_event_id,
    status_line,
)
from sse_core._shutdown import Shutdown


def test_default_headers() -> None:
    assert response_headers() == [
        ("Content-Type", "text/event-stream; charset=utf-8"),
        ("Cache-Control", "no-cache"),
        ("X-Accel-Buffering", "no"),
    ]


def test_extra_headers_add_and_override_defaults() -> None:
    headers = response_headers({"cache-control": "no-store", "X-Request-Id": "7"})
    assert headers == [
        ("Content-Type", "text/event-stream; charset=utf-8"),
        ("X-Accel-Buffering", "no"),
        ("cache-control", "no-store"),
        ("X-Request-Id", "7"),
    ]
    assert response_headers([("Vary", "a"), ("Vary", "b")])[-2:] == [("Vary", "a"), ("Vary", "b")]


@pytest.mark.parametrize(
    "extra",
    [
        {"Content-Type": "text/plain"},
        {"X-A": "1\r\nSet-Cookie: x=1"},
        {"X-A\n": "1"},
        {"X-A": "\0"},
    ],
)
def test_unsafe_or_stream_breaking_headers_are_refused(extra: Any) -> None:
    with pytest.raises(ValueError):
        response_headers(extra)


def test_header_types_are_checked() -> None:
    with pytest.raises(TypeError):
        response_headers([("X-A", b"1")])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("42", "42"),
        (b"42", "42"),
        (" \t42\t ", "42"),
        ("a b,c;d", "a b,c;d"),
        ("é".encode().decode("latin-1"), "é"),  # WSGI: UTF-8 bytes seen as Latin-1
        ("é".encode(), "é"),
        (b"\xff\xfe", "\xff\xfe"),  # not UTF-8: read as Latin-1
        ("\xe9t\xe9-1", "\xe9t\xe9-1"),  # an older client's Latin-1, through WSGI
        (b"ab\x85cd", ""),  # Latin-1 C1 control
        ("\u20ac", ""),  # not Latin-1, so not from a real header
        ("4\x002", ""),
        ("4\r\n2", ""),
        ("4\x1b2", ""),
        ("4\x7f2", ""),
        ("4\u00852", ""),
        ("x" * MAX_LAST_EVENT_ID_LENGTH, "x" * MAX_LAST_EVENT_ID_LENGTH),
        ("x" * (MAX_LAST_EVENT_ID_LENGTH + 1), ""),
    ],
)
def test_last_event_id_rule(raw: Optional[Union[str, bytes]], expected: str) -> None:
    assert sanitise_last_event_id(raw) == expected


def test_last_event_id_from_asgi_headers() -> None:
    assert last_event_id_from_asgi_headers([(b"host", b"x"), (b"last-event-id", b"7")]) == "7"
    assert last_event_id_from_asgi_headers([(b"Last-Event-ID", b"7")]) == "7"
    assert last_event_id_from_asgi_headers([]) == ""
    two = [(b"last-event-id", b"7"), (b"last-event-id", b"8")]
    assert last_event_id_from_asgi_headers(two) == ""


def test_last_event_id_from_environ() -> None:
    assert last_event_id_from_environ({"HTTP_LAST_EVENT_ID": "7"}) == "7"
    assert last_event_id_from_environ({}) == ""
    assert last_event_id_from_environ({"HTTP_LAST_EVENT_ID": 7}) == ""


def test_status_line() -> None:
    assert status_line(200) == "200 OK"
    assert status_line(503) == "503 Service Unavailable"
    assert status_line(599) == "599 Unknown"


def test_encode_item() -> None:
    assert encode_item(Event("x", id="1")) == b"id: 1\ndata: x\n\n"
    assert encode_item("a\nb") == b"data: a\ndata: b\n\n"
    assert encode_item(b": raw\n") == b": raw\n"
    assert encode_item(cast(Any, bytearray(b"data: y\n\n"))) == b"data: y\n\n"
    assert encode_item(None) is None
    with pytest.raises(TypeError):
        encode_item(3)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        encode_item("\udc80")


def test_shutdown_wakes_waiters_and_callbacks_from_another_thread() -> None:
    switch = Shutdown()
    called: List[str] = []
    remove = switch.add_callback(lambda: called.append("kept"))
    switch.add_callback(lambda: called.append("removed"))()
    remove_late = switch.add_callback(lambda: called.append("late"))
    del remove_late

    timer = threading.Timer(0.01, switch.trigger)

    async def main() -> None:
        waiter = asyncio.ensure_future(switch.wait())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        timer.start()
        await asyncio.wait_for(waiter, 10)
        await switch.wait()  # returns at once once triggered

    asyncio.run(main())
    timer.join(10)  # the callbacks run in the triggering thread, after the wake-ups
    assert switch.triggered
    assert called == ["kept", "late"]
    switch.trigger()  # idempotent
    assert called == ["kept", "late"]
    switch.add_callback(lambda: called.append("after"))
    assert called == ["kept", "late", "after"]
    remove()


def test_shutdown_wait_cancelled_and_callback_removed() -> None:
    switch = Shutdown()
    called: List[str] = []
    remove = switch.add_callback(lambda: called.append("x"))
    remove()
    remove()

    async def main() -> None:
        waiter = asyncio.ensure_future(switch.wait())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert switch._waiters == []

    asyncio.run(main())
    switch.trigger()
    assert called == []


def test_shutdown_skips_a_waiter_cancelled_before_the_wake_up_runs() -> None:
    switch = Shutdown()

    async def main() -> None:
        waiter = asyncio.ensure_future(switch.wait())
        await asyncio.sleep(0)  # the waiter is registered
        assert len(switch._waiters) == 1
        # Cancelled and triggered in the same step of the loop: the wake-up
        # finds the waiter's future already cancelled, and leaves it alone.
        waiter.cancel()
        switch.trigger()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0)  # the scheduled wake-up has run
        await asyncio.wait_for(switch.wait(), 1)  # returns at once

    asyncio.run(main())
    assert switch.triggered
    assert switch._waiters == []
