# SPDX-License-Identifier: MIT
"""The broadcaster: its sans-IO core, its thread and asyncio shells, and both adapters."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, ContextManager, List, Optional

import pytest

from sse_core import Event
from sse_core._fanout import FanoutCore
from sse_core.broadcast import Broadcaster

from ._apps import Tracker, make_asgi_app, make_wsgi_app
from ._clients import read_stream
from ._servers import Running, uvicorn_server, wait_until, wsgiref_server

# --- the sans-IO core -------------------------------------------------------------


def _publish(core: FanoutCore, count: int) -> List[Event]:
    return [core.publish(f"m{i}") for i in range(count)]


def test_ids_are_consecutive_integers() -> None:
    core = FanoutCore()
    assert core.last_id is None
    assert [e.id for e in _publish(core, 3)] == ["1", "2", "3"]
    assert core.last_id == "3"


@pytest.mark.parametrize(
    ("last_event_id", "replayed"),
    [
        ("", []),
        ("5", []),  # up to date
        ("99", []),  # from the future, as after a server restart
        ("abc", []),
        ("-1", []),
        ("3", ["4", "5"]),
        ("2", ["3", "4", "5"]),
        ("1", ["2", "3", "4", "5"]),  # 1 was evicted; everything after it is there
        ("0", ["2", "3", "4", "5"]),  # older than the buffer: what there is
    ],
)
def test_replay_after_last_event_id(last_event_id: str, replayed: List[str]) -> None:
    core = FanoutCore(replay=4)
    _publish(core, 5)
    member = core.subscribe(last_event_id)
    assert [e.id for e in member.take()] == replayed


def test_replay_disabled() -> None:
    core = FanoutCore(replay=0)
    _publish(core, 3)
    assert core.subscribe("1").take() == []
    assert core.last_id is None


def test_full_queue_disconnects_only_the_slow_subscriber() -> None:
    core = FanoutCore(queue_size=2)
    slow, fast = core.subscribe(), core.subscribe()
    for i in range(5):
        event = core.publish(f"m{i}")
        assert fast.take() == [event]
    assert slow.overflowed and slow.finished and slow.take() == []
    assert not fast.finished


def test_full_queue_drops_oldest_under_that_policy() -> None:
    core = FanoutCore(queue_size=2, policy="drop_oldest")
    member = core.subscribe()
    _publish(core, 5)
    assert [e.id for e in member.take()] == ["4", "5"]
    assert member.dropped == 3 and not member.finished


def test_close_ends_subscribers_and_refuses_publishes() -> None:
    core = FanoutCore()
    member = core.subscribe()
    core.publish("last")
    assert core.close() == [member]
    assert member.finished and [e.data for e in member.take()] == ["last"]
    with pytest.raises(RuntimeError):
        core.publish("late")
    assert core.subscribe().finished


def test_unsubscribe_stops_delivery() -> None:
    core = FanoutCore()
    member = core.subscribe()
    core.unsubscribe(member)
    core.unsubscribe(member)
    core.publish("x")
    assert member.take() == [] and core.subscriber_count == 0


@pytest.mark.parametrize(
    "kwargs", [{"replay": -1}, {"queue_size": 0}, {"policy": "block"}, {"idle_timeout": 0}]
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
