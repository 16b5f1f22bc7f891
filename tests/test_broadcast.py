# SPDX-License-Identifier: MIT
"""The broadcaster: its sans-IO core, its thread and asyncio shells, and both adapters."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import tracemalloc
from itertools import islice
from pathlib import Path
from typing import Any, Callable, ContextManager, List, Optional, Tuple

import pytest

from sse_core import Event, asgi, wsgi
from sse_core._fanout import GAP, LocalHub, _LoopWakeups
from sse_core._replay import ReplayWindow, event_size
from sse_core.broadcast import DEFAULT_REPLAY_BYTES, GAP_EVENT, Broadcaster

from ._apps import Tracker, make_asgi_app, make_wsgi_app
from ._clients import read_stream
from ._servers import Running, raw_asgi_server, uvicorn_server, wait_until, wsgiref_server
from .memory import requires_tracemalloc
from .sse_servers import reset_on_close

# --- the replay window (sans-IO) ---------------------------------------------------


def _append(window: ReplayWindow, count: int) -> List[Event]:
    return [window.append(f"m{i}") for i in range(count)]


def test_ids_are_consecutive_integers_per_topic() -> None:
    hub = Broadcaster()
    assert hub.last_id is None
    assert [hub.publish(str(i)).id for i in range(3)] == ["1", "2", "3"]
    assert [hub.publish(str(i), topic="other").id for i in range(2)] == ["1", "2"]
    assert hub.last_id == "3"


@pytest.mark.parametrize(
    ("last_event_id", "from_start", "gap", "replayed"),
    [
        ("", False, False, []),
        ("", True, True, ["2", "3", "4", "5"]),  # 1 left the window
        ("5", False, False, []),  # up to date
        ("5", True, False, []),  # an ID wins over from_start
        ("99", False, False, []),  # from the future, as after a server restart
        ("99", True, True, ["2", "3", "4", "5"]),
        ("abc", False, False, []),
        ("-1", False, False, []),
        ("\u00b2", False, False, []),  # isdigit() but not an ASCII digit
        ("\u0661", False, False, []),  # Arabic-Indic one
        ("1" * 31, False, False, []),
        ("3", False, False, ["4", "5"]),
        ("2", False, False, ["3", "4", "5"]),
        ("1", False, False, ["2", "3", "4", "5"]),  # 1 was evicted; everything after it is there
        ("0", False, True, ["2", "3", "4", "5"]),  # older than the window
    ],
)
def test_replay_after_last_event_id(
    last_event_id: str, from_start: bool, gap: bool, replayed: List[str]
) -> None:
    window = ReplayWindow(replay=4)
    _append(window, 5)
    assert window.after(last_event_id, from_start) == (
        gap,
        [Event(f"m{int(i) - 1}", id=i) for i in replayed],
    )


def test_replay_from_zero_without_eviction_has_no_gap() -> None:
    window = ReplayWindow(replay=4)
    events = _append(window, 3)
    assert window.after("0") == (False, events)
    assert window.after("", from_start=True) == (False, events)


def test_replay_disabled_still_reports_the_gap() -> None:
    window = ReplayWindow(replay=0)
    _append(window, 3)
    assert window.after("1") == (True, [])
    assert window.after("3") == (False, [])
    assert len(window) == 0 and window.last == 3


def test_replay_is_bounded_in_bytes_counting_utf8() -> None:
    window = ReplayWindow(replay=100, replay_bytes=100)
    window.append("\u00e9" * 20)  # 40 bytes + "message" (7) + "1" (1) = 48
    assert event_size(Event("\u00e9" * 20, id="1")) == 48 and window.size == 48
    window.append("x" * 44)  # 44 + 7 + 1 = 52: 100 in all, kept
    assert len(window) == 2 and window.size == 100
    window.append("y", event="e")  # 1 + 1 + 1: the first event goes
    assert len(window) == 2 and window.size == 55
    window.append("z" * 200)  # larger than the bound alone: not kept
    assert len(window) == 0 and window.size == 0 and window.last == 4
    assert window.after("3") == (True, [])


def test_a_refused_event_uses_no_id() -> None:
    window = ReplayWindow()
    with pytest.raises(ValueError):
        window.append("x", event="bad\nevent")
    assert window.append("ok").id == "1"


def test_local_hub_cuts_a_long_backlog_to_the_queue_and_marks_the_gap() -> None:
    local = LocalHub(queue_size=3)
    events = [Event(str(i), id=str(i)) for i in range(5)]
    assert list(local.open("t", events)._queue) == [GAP, *events[-2:]]
    assert list(local.open("t", events[:3])._queue) == events[:3]
    assert list(local.open("t", events[:2], gap=True)._queue) == [GAP, *events[:2]]
    assert list(LocalHub(queue_size=1).open("t", events)._queue) == [GAP]
    assert local.subscriber_count == 3 and local.topics() == ["t"]


def test_local_hub_reports_topics_as_they_gain_and_lose_subscribers() -> None:
    seen: List[Tuple[str, bool]] = []
    local = LocalHub(queue_size=1, on_topic=lambda topic, active: seen.append((topic, active)))
    a1, a2, b = local.open("a"), local.open("a"), local.open("b")
    a1.close()
    a1.close()
    assert seen == [("a", True), ("b", True)]
    local.deliver("b", [Event("1"), Event("2")])  # b overflows and is dropped
    assert b.overflowed and seen[-1] == ("b", False)
    local.deliver("nobody", [Event("x")])
    local.close()
    assert seen == [("a", True), ("b", True), ("b", False), ("a", False)]
    assert a2.overflowed is False and list(a2) == []
    assert local.topics() == [] and local.open("a")._closed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"replay": -1},
        {"replay_bytes": -1},
        {"queue_size": 0},
        {"policy": "block"},
        {"idle_timeout": 0},
    ],
)
def test_bad_arguments(kwargs: Any) -> None:
    with pytest.raises(ValueError):
        Broadcaster(**kwargs)


# --- the thread and asyncio shells ------------------------------------------------


def test_thread_subscription_yields_none_when_idle_and_events_when_published() -> None:
    hub = Broadcaster(idle_timeout=0.01)
    got: List[Optional[Event]] = []
    subscription = hub.subscribe()

    def consume() -> None:
        for item in subscription:
            got.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    wait_until(lambda: None in got, what="an idle marker")
    hub.publish("hello", event="greeting")
    wait_until(lambda: any(item is not None for item in got), what="the event")
    hub.close()
    consumer.join(10)
    assert not consumer.is_alive()
    assert [item for item in got if item is not None] == [Event("hello", event="greeting", id="1")]
    assert hub.subscriber_count == 0
    with pytest.raises(RuntimeError):
        iter(subscription)  # iterated once already


def test_async_subscription_gets_events_from_another_thread() -> None:
    hub = Broadcaster()

    async def main() -> List[Event]:
        got: List[Event] = []
        subscription = hub.subscribe()
        publisher = threading.Timer(0.05, lambda: [hub.publish(str(i)) for i in range(3)])
        publisher.start()
        try:
            async for event in subscription:
                got.append(event)
                if len(got) == 3:
                    break
        finally:
            publisher.join(5)
        return got

    got = asyncio.run(asyncio.wait_for(main(), 10))
    assert [(e.data, e.id) for e in got] == [("0", "1"), ("1", "2"), ("2", "3")]
    assert hub.subscriber_count == 0  # breaking out closed the subscription


def test_async_subscription_ends_when_the_broadcaster_closes() -> None:
    hub = Broadcaster()

    async def main() -> List[Event]:
        got: List[Event] = []
        subscription = hub.subscribe()

        def publish_and_close() -> None:
            hub.publish("last")
            hub.close()

        closer = threading.Timer(0.05, publish_and_close)
        closer.start()
        try:
            async for event in subscription:
                got.append(event)
        finally:
            closer.join(5)
        return got

    got = asyncio.run(asyncio.wait_for(main(), 10))
    assert [e.data for e in got] == ["last"]
    assert hub.subscriber_count == 0


def test_a_slow_subscriber_never_blocks_publish_or_the_fast_one() -> None:
    hub = Broadcaster(queue_size=3, idle_timeout=0.01)
    slow = hub.subscribe()  # never read while publishing
    fast_got: List[Event] = []
    fast = hub.subscribe()

    def consume() -> None:
        for item in fast:
            if item is not None:
                fast_got.append(item)
                if len(fast_got) == 100:
                    return

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(100):
        hub.publish(str(i))
        wait_until(lambda i=i: len(fast_got) > i, what="the fast subscriber")  # type: ignore[misc]
    consumer.join(10)
    assert [e.id for e in fast_got] == [str(i) for i in range(1, 101)]
    assert slow.overflowed
    assert list(slow) == []  # its stream ends; its client would reconnect and replay
    hub.close()


# --- through the adapters -----------------------------------------------------------

ADAPTERS = {
    "asgi-uvicorn": lambda hub: uvicorn_server(make_asgi_app(Tracker(), hub)),
    "wsgi-wsgiref": lambda hub: wsgiref_server(make_wsgi_app(Tracker(), hub)),
}


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_fan_out_and_replay_through_an_adapter(adapter: str) -> None:
    hub = Broadcaster(idle_timeout=0.02)
    serve: Callable[[Broadcaster], ContextManager[Running]] = ADAPTERS[adapter]
    with serve(hub) as server:
        results: List[List[Event]] = []

        def listen(**headers: str) -> None:
            results.append(read_stream(server.url + "/hub", events=5, headers=headers).events)

        listeners = [threading.Thread(target=listen) for _ in range(2)]
        for thread in listeners:
            thread.start()
        wait_until(lambda: hub.subscriber_count == 2, what="two subscribers")
        for i in range(1, 6):
            hub.publish(f"news {i}")
        for thread in listeners:
            thread.join(15)
        # A client that saw up to 3 gets 4 and 5 replayed, then new events.
        late = threading.Thread(target=listen, kwargs={"Last-Event-ID": "3"})
        late.start()
        wait_until(lambda: hub.subscriber_count >= 1, what="the late subscriber")
        for i in range(6, 9):
            hub.publish(f"news {i}")
        late.join(15)
        hub.close()
    assert [[e.id for e in events] for events in results[:2]] == [["1", "2", "3", "4", "5"]] * 2
    assert [e.id for e in results[2]] == ["4", "5", "6", "7", "8"]
    assert results[2][0].data == "news 4"


def test_subscription_properties_and_context_manager() -> None:
    hub = Broadcaster(queue_size=1, policy="drop_oldest")
    assert hub.last_id is None and not hub.closed
    with hub.subscribe() as subscription:
        hub.publish("a")
        hub.publish("b")
        assert subscription.dropped == 1 and not subscription.overflowed
        assert hub.subscriber_count == 1
    assert hub.subscriber_count == 0
    assert hub.last_id == "2"
    hub.close()
    assert hub.closed
    assert list(hub.subscribe("1")) == []  # ends at once


def test_a_topic_is_a_str() -> None:
    hub = Broadcaster()
    with pytest.raises(TypeError):
        hub.publish("x", topic=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hub.subscribe(topic=None)  # type: ignore[arg-type]
    assert hub.last_id is None and hub.subscriber_count == 0


def test_the_async_iterator_is_its_own_iterator() -> None:
    hub = Broadcaster()

    async def main() -> List[Event]:
        events = hub.subscribe().__aiter__()
        assert events.__aiter__() is events
        hub.publish("one")
        return [await events.__anext__()]

    assert asyncio.run(asyncio.wait_for(main(), 10)) == [Event("one", id="1")]
    assert hub.subscriber_count == 0  # the dropped iterator unsubscribed


# --- wake-ups are coalesced (issue 18, item 7) ----------------------------------------


class CountingLoop(asyncio.SelectorEventLoop):
    """A real selector loop that counts the callbacks scheduled on it."""

    scheduled = 0
    from_threads = 0

    def call_soon(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.scheduled += 1
        return super().call_soon(*args, **kwargs)

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.scheduled += 1
        self.from_threads += 1
        return super().call_soon_threadsafe(*args, **kwargs)


SUBSCRIBERS = 50
BURST = 1000


def _burst(publish_from_thread: bool) -> Tuple[int, int, List[List[Event]]]:
    """Callbacks scheduled while BURST events go to SUBSCRIBERS waiting async readers."""
    hub = Broadcaster(queue_size=BURST)
    loop = CountingLoop()

    async def read(subscription: Any) -> List[Event]:
        got: List[Event] = []
        async for event in subscription:
            got.append(event)
            if len(got) == BURST:
                break
        return got

    async def main() -> Tuple[int, int, List[List[Event]]]:
        readers = [asyncio.ensure_future(read(hub.subscribe())) for _ in range(SUBSCRIBERS)]
        for _ in range(10):  # every reader runs to its first wait
            await asyncio.sleep(0)
        before, before_from_threads = loop.scheduled, loop.from_threads
        if publish_from_thread:
            # The loop is held while the thread publishes, as a busy loop would be.
            publisher = threading.Thread(target=lambda: [hub.publish(str(i)) for i in range(BURST)])
            publisher.start()
            publisher.join()
        else:
            for i in range(BURST):
                hub.publish(str(i))
        scheduled = loop.scheduled - before
        from_threads = loop.from_threads - before_from_threads
        return scheduled, from_threads, list(await asyncio.gather(*readers))

    try:
        return loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()


@pytest.mark.parametrize("publish_from_thread", [False, True], ids=["in-loop", "thread"])
def test_a_burst_schedules_one_wake_up_per_waiting_subscriber(publish_from_thread: bool) -> None:
    scheduled, from_threads, received = _burst(publish_from_thread)
    # One loop callback for the whole burst, which sets every reader's event
    # (call_soon_threadsafe from a thread): not one per publish or per reader.
    assert scheduled == 1, scheduled
    assert from_threads == (1 if publish_from_thread else 0), from_threads
    assert all([e.data for e in got] == [str(i) for i in range(BURST)] for got in received)


# --- closing a stream that never started (issue 18, item 8) ---------------------------


def _connect_and_reset(port: int, cycles: int) -> None:
    request = b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n"
    for _ in range(cycles):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request)
            reset_on_close(sock)


async def _task_count() -> int:
    return len(asyncio.all_tasks()) - 1


@pytest.mark.parametrize("server", ["raw", "uvicorn"])
def test_a_client_gone_before_the_first_event_leaks_no_subscription(server: str) -> None:
    hub = Broadcaster()
    app = asgi.EventStreamResponse(lambda last_event_id: hub.subscribe(last_event_id))
    serve = raw_asgi_server if server == "raw" else uvicorn_server
    with serve(app) as running:
        tasks = running.run_in_loop(_task_count())
        _connect_and_reset(running.port, 200)
        wait_until(lambda: hub.subscriber_count == 0, 15, "every subscription to end")
        wait_until(lambda: running.run_in_loop(_task_count()) == tasks, 15, "every connection")
    hub.close()


def test_a_wsgi_body_closed_before_its_first_chunk_unsubscribes() -> None:
    hub = Broadcaster()
    app = wsgi.EventStreamResponse(lambda last_event_id: hub.subscribe(last_event_id))
    body = app({"PATH_INFO": "/events"}, lambda status, headers: None)
    assert isinstance(body, wsgi.StreamBody)
    assert hub.subscriber_count == 1
    body.close()
    assert hub.subscriber_count == 0


# --- the replay window is bounded in bytes (issue 18, item 11) -------------------------


@requires_tracemalloc
def test_large_events_cannot_pin_more_than_replay_bytes() -> None:
    # 200 events of 100 KB: 20 MB that a count-only window of 1000 would keep.
    hub = Broadcaster()

    def publish_large() -> Broadcaster:
        for i in range(200):
            hub.publish(str(i % 10) * 100_000)
        return hub

    tracemalloc.start()
    try:
        publish_large()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < DEFAULT_REPLAY_BYTES + 512 * 1024, kept
    replayed = list(islice(hub.subscribe("1"), 1 + DEFAULT_REPLAY_BYTES // 100_000))
    assert replayed[0].event == GAP_EVENT  # type: ignore[union-attr]
    assert [e.id for e in replayed[1:]] == [str(i) for i in range(160, 201)]  # type: ignore[union-attr]


def test_a_wake_up_for_a_closed_loop_is_dropped() -> None:
    # Only a loop closed without shutting down its async generators can
    # leave a reader waiting on it; a publish must still neither raise nor
    # keep what it meant to wake.
    loop = asyncio.new_event_loop()

    async def make_event() -> asyncio.Event:
        return asyncio.Event()

    ready = loop.run_until_complete(make_event())
    loop.close()
    wakeups = _LoopWakeups.of(loop)
    assert _LoopWakeups.of(loop) is wakeups
    for in_loop in (False, True):
        wakeups.add(loop, ready, in_loop)
        assert wakeups._flush_pending() == []
    assert not ready.is_set()


def test_the_hostile_hub_benchmark_runs() -> None:
    # Timings mean nothing here; the counts do.
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-bb", "-W", "error", "benchmarks/hostile_hub.py", "--quick"],
        cwd=str(root),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("loop callbacks scheduled: 1,") == 2, completed.stdout
    assert ": 0 subscriptions left open" in completed.stdout
