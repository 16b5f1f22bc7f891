# SPDX-License-Identifier: MIT
"""The contract every hub backend keeps: one suite, run against each backend.

A backend's test module imports these tests and provides a ``hub_factory``
fixture: ``hub_factory(**options)`` returns a fresh, empty hub (no topic has
any event yet) built with those options, which are any of ``replay``,
``replay_bytes``, ``queue_size``, ``policy`` and ``idle_timeout``, as
:class:`~sse_core.broadcast.Broadcaster` takes them; the fixture closes every
hub it made.  ``tests/test_broadcast_contract.py`` runs them in-process.

The tests assume nothing a backend may do differently: IDs are opaque strings
(compared only for equality), delivery may happen on another thread a little
later (every wait is bounded, nothing is timed), and only these guarantees are
checked:

* an event published after ``subscribe()`` returned reaches that subscriber
  once, in the hub's one order of that topic, which every subscriber sees;
* topics are separate; ``topic`` defaults to ``DEFAULT_TOPIC``;
* resuming after an ID in the window replays what follows it; after an ID
  older than the window, the ``GAP_EVENT`` marker (no ID, empty data), then the
  whole window; a malformed ID is none; ``from_start`` replays the window (with
  the marker first if the topic's first events left it);
* the window is bounded by ``replay`` events and ``replay_bytes`` bytes of
  data (a backend may count fields too, so only an upper bound on data is
  checked);
* the slow-subscriber policies, ``close()``, ``forget()`` of a topic, both
  kinds of iteration, and unsubscribing by closing an iterator that never
  started.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from sse_core import Event
from sse_core._fanout import Subscription
from sse_core.broadcast import DEFAULT_TOPIC, GAP_EVENT

from ._servers import wait_until

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python 3.7 has no Protocol; 3.8+ runs this
    Protocol = object  # type: ignore[assignment]

#: Seconds any one wait in these tests may last before the test fails.
WAIT = 15.0


class Hub(Protocol):
    """What the contract asks of a backend."""

    @property
    def subscriber_count(self) -> int: ...

    @property
    def closed(self) -> bool: ...

    def publish(
        self,
        data: str,
        event: str = "message",
        retry: Optional[int] = None,
        *,
        topic: str = DEFAULT_TOPIC,
    ) -> Event: ...

    def subscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription: ...

    def forget(self, topic: str) -> None: ...

    def close(self) -> None: ...


HubFactory = Callable[..., Hub]


def take(items: Iterator[Optional[Event]], count: int) -> List[Event]:
    """The next ``count`` events from a thread-side iterator, skipping idle ``None``."""
    deadline = time.monotonic() + WAIT
    got: List[Event] = []
    while len(got) < count:
        assert time.monotonic() < deadline, f"got {len(got)} of {count} events: {got}"
        item = next(items)
        if item is not None:
            got.append(item)
    return got


def take_until_idle(items: Iterator[Optional[Event]]) -> List[Event]:
    """Events up to the first idle ``None`` (the iterator must have ``idle_timeout`` set)."""
    got: List[Event] = []
    for item in items:
        if item is None:
            break
        got.append(item)
    return got


def publish_many(
    hub: Hub, count: int, topic: str = DEFAULT_TOPIC, prefix: str = "m"
) -> List[Event]:
    return [hub.publish(f"{prefix}{i}", topic=topic) for i in range(count)]


def is_gap(event: Event) -> bool:
    return event.event == GAP_EVENT and event.data == "" and event.id is None


# --- publishing and live delivery ----------------------------------------------------


def test_publish_returns_the_event_with_a_fresh_id(hub_factory: HubFactory) -> None:
    hub = hub_factory()
    first = hub.publish("a", event="update", retry=1500)
    second = hub.publish("b")
    assert (first.data, first.event, first.retry) == ("a", "update", 1500)
    assert (second.data, second.event, second.retry) == ("b", "message", None)
    assert first.id and second.id and first.id != second.id


def test_live_events_arrive_once_in_order(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    with hub.subscribe() as one, hub.subscribe() as two:
        published = publish_many(hub, 50)
        assert take(iter(one), 50) == published
        assert take_until_idle(iter(two)) == published  # nothing more, nothing twice


def test_topics_are_separate_and_default_is_default(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    default, named_default = hub.subscribe(), hub.subscribe(topic=DEFAULT_TOPIC)
    task_a, task_b = hub.subscribe(topic="task-a"), hub.subscribe(topic="task-b")
    expected: Dict[str, List[Event]] = {"default": [], "task-a": [], "task-b": []}
    for i in range(10):
        for topic in ("task-a", "task-b"):
            expected[topic].append(hub.publish(f"{topic} {i}", topic=topic))
        expected["default"].append(hub.publish(f"plain {i}"))
    assert take(iter(default), 10) == expected["default"]
    assert take(iter(named_default), 10) == expected["default"]
    assert take_until_idle(iter(task_a)) == expected["task-a"]
    assert take_until_idle(iter(task_b)) == expected["task-b"]
    for subscription in (default, named_default, task_a, task_b):
        subscription.close()
    wait_until(lambda: hub.subscriber_count == 0, WAIT, "every subscription closed")


def test_one_order_for_every_subscriber_with_threads_publishing(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    readers = [hub.subscribe(topic="t") for _ in range(3)]
    published: List[List[Event]] = [[] for _ in range(4)]

    def publisher(index: int) -> None:
        for i in range(50):
            published[index].append(hub.publish(f"p{index} {i}", topic="t"))

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    received = [take(iter(reader), 200) for reader in readers]
    assert received[0] == received[1] == received[2]
    assert sorted(e.data for e in received[0]) == sorted(e.data for p in published for e in p)
    for events in published:  # each publisher's events in its own order
        mine = set(events)
        assert [e for e in received[0] if e in mine] == events


def test_publish_from_a_coroutine_reaches_an_async_subscriber(hub_factory: HubFactory) -> None:
    hub = hub_factory()

    async def main() -> List[Event]:
        got: List[Event] = []
        subscription = hub.subscribe(topic="live")
        published = [hub.publish(str(i), topic="live") for i in range(3)]
        async for event in subscription:
            got.append(event)
            if len(got) == 3:
                break
        assert got == published
        return got

    asyncio.run(asyncio.wait_for(main(), WAIT))
    wait_until(lambda: hub.subscriber_count == 0, WAIT, "breaking out to unsubscribe")


def test_async_subscriber_gets_events_from_another_thread(hub_factory: HubFactory) -> None:
    hub = hub_factory()
    published: List[Event] = []

    async def main() -> List[Event]:
        got: List[Event] = []
        subscription = hub.subscribe()
        publisher = threading.Timer(0.05, lambda: published.extend(publish_many(hub, 20)))
        publisher.start()
        try:
            async for event in subscription:
                got.append(event)
                if len(got) == 20:
                    break
        finally:
            publisher.join(WAIT)
        return got

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) == published


def test_thread_subscriber_yields_none_while_idle(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.01)
    items = iter(hub.subscribe())
    assert next(items) is None
    event = hub.publish("after the idle marker")
    assert take(items, 1) == [event]


# --- replay, from_start and the gap marker ---------------------------------------------


def test_resume_after_an_id_in_the_window(hub_factory: HubFactory) -> None:
    hub = hub_factory(replay=10, idle_timeout=0.05)
    published = publish_many(hub, 5)
    items = iter(hub.subscribe(published[1].id or ""))
    assert take(items, 3) == published[2:]
    later = hub.publish("live")
    assert take_until_idle(items) == [later]


def test_resume_at_the_last_id_replays_nothing(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    published = publish_many(hub, 3)
    items = iter(hub.subscribe(published[-1].id or ""))
    later = hub.publish("live")
    assert take_until_idle(items) == [later]


@pytest.mark.parametrize("last_event_id", ["", "garbage", "\u00b2", "-1", "1.5", " ", "9" * 200])
def test_a_malformed_id_is_none(hub_factory: HubFactory, last_event_id: str) -> None:
    hub = hub_factory(idle_timeout=0.05)
    publish_many(hub, 3)
    items = iter(hub.subscribe(last_event_id))
    later = hub.publish("live")
    assert take_until_idle(items) == [later]


def test_an_id_of_an_empty_topic_replays_nothing(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    elsewhere = publish_many(hub, 3, topic="busy")
    items = iter(hub.subscribe(elsewhere[0].id or "", topic="quiet"))
    later = hub.publish("first", topic="quiet")
    assert take_until_idle(items) == [later]


def test_from_start_replays_the_window(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    published = publish_many(hub, 4, topic="task")
    publish_many(hub, 2, topic="other")
    items = iter(hub.subscribe(topic="task", from_start=True))
    assert take(items, 4) == published
    later = hub.publish("live", topic="task")
    assert take_until_idle(items) == [later]
    # A malformed ID is no ID: still from the start.
    assert take(iter(hub.subscribe("garbage", topic="task", from_start=True)), 5) == [
        *published,
        later,
    ]
    # A usable ID wins over from_start.
    resumed = hub.subscribe(published[2].id or "", topic="task", from_start=True)
    assert take_until_idle(iter(resumed)) == [published[3], later]


def test_from_start_on_an_empty_topic_waits_for_live_events(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    items = iter(hub.subscribe(topic="new", from_start=True))
    assert next(items) is None
    first = hub.publish("first", topic="new")
    assert take_until_idle(items) == [first]


def test_an_id_older_than_the_window_gets_the_gap_marker_then_the_window(
    hub_factory: HubFactory,
) -> None:
    hub = hub_factory(replay=3, idle_timeout=0.05)
    published = publish_many(hub, 6)
    items = iter(hub.subscribe(published[0].id or ""))
    replayed = take(items, 4)
    assert is_gap(replayed[0]), replayed[0]
    assert replayed[1:] == published[3:]
    # Right at the window's edge nothing was lost: no marker.
    at_edge = iter(hub.subscribe(published[2].id or ""))
    later = hub.publish("live")
    assert take_until_idle(items) == [later]
    assert take_until_idle(at_edge) == [*published[3:], later]


def test_from_start_after_the_first_events_left_gets_the_gap_marker(
    hub_factory: HubFactory,
) -> None:
    hub = hub_factory(replay=2, idle_timeout=0.05)
    published = publish_many(hub, 5, topic="long")
    replayed = take_until_idle(iter(hub.subscribe(topic="long", from_start=True)))
    assert is_gap(replayed[0]) and replayed[1:] == published[3:]


def test_replay_is_bounded_in_bytes(hub_factory: HubFactory) -> None:
    hub = hub_factory(replay=100, replay_bytes=1000, idle_timeout=0.05)
    published = [hub.publish(str(i) * 300) for i in range(10)]
    replayed = take_until_idle(iter(hub.subscribe(published[0].id or "")))
    assert is_gap(replayed[0])
    window = replayed[1:]
    assert window and window == published[len(published) - len(window) :]
    assert sum(len(e.data.encode()) for e in window) <= 1000


# --- slow subscribers and close ----------------------------------------------------------


def test_a_slow_subscriber_is_disconnected_and_the_others_get_everything(
    hub_factory: HubFactory,
) -> None:
    hub = hub_factory(queue_size=3, idle_timeout=0.05)
    slow = hub.subscribe()
    fast_items = iter(hub.subscribe())
    published = []
    for i in range(10):
        published.append(hub.publish(str(i)))
        assert take(fast_items, 1) == published[-1:]
    wait_until(lambda: slow.overflowed, WAIT, "the slow subscriber to overflow")
    assert list(slow) == []  # its stream ends; its client would reconnect and resume
    assert slow.dropped == 0


def test_a_slow_subscriber_loses_its_oldest_under_drop_oldest(hub_factory: HubFactory) -> None:
    hub = hub_factory(queue_size=3, policy="drop_oldest", idle_timeout=0.05)
    slow = hub.subscribe()
    published = publish_many(hub, 10)
    wait_until(lambda: slow.dropped == 7, WAIT, "seven events dropped")
    assert take_until_idle(iter(slow)) == published[-3:]
    assert not slow.overflowed


def test_close_ends_streams_after_what_they_hold(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    sync_subscription, async_subscription = hub.subscribe(), hub.subscribe()
    witness = iter(hub.subscribe())
    published = publish_many(hub, 3)
    # Delivery reaches a topic's local subscribers together: once the witness
    # has the events, so have the others.
    assert take(witness, 3) == published
    hub.close()
    assert hub.closed
    assert [item for item in sync_subscription if item is not None] == published

    async def read_all() -> List[Event]:
        return [event async for event in async_subscription]

    assert asyncio.run(asyncio.wait_for(read_all(), WAIT)) == published
    with pytest.raises(RuntimeError):
        hub.publish("late")
    assert list(hub.subscribe(published[0].id or "")) == []  # ends at once
    assert hub.subscriber_count == 0
    hub.close()  # idempotent


@pytest.mark.parametrize("ending", ["close", "forget"])
def test_ending_wakes_waiting_readers(hub_factory: HubFactory, ending: str) -> None:
    hub = hub_factory(idle_timeout=30)
    finished = threading.Event()
    subscription = hub.subscribe(topic="done")

    def read() -> None:
        assert list(subscription) == []
        finished.set()

    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: reader.is_alive(), WAIT, "the reader")
    if ending == "close":
        hub.close()
    else:
        hub.forget("done")
    reader.join(WAIT)
    assert finished.is_set()


def test_forget_ends_a_topic_and_keeps_the_others(hub_factory: HubFactory) -> None:
    hub = hub_factory(idle_timeout=0.05)
    done, other = hub.subscribe(topic="done"), iter(hub.subscribe(topic="other"))
    witness = iter(hub.subscribe(topic="done"))
    published = publish_many(hub, 3, topic="done")
    kept = publish_many(hub, 2, topic="other")
    assert take(witness, 3) == published
    hub.forget("done")
    # Its subscribers end after what they hold; the other topic is untouched.
    assert [item for item in done if item is not None] == published
    assert hub.subscriber_count == 1
    assert take(other, 2) == kept
    # The window is gone: a new subscriber from the start gets only new events.
    with hub.subscribe(topic="done", from_start=True) as again:
        items = iter(again)
        assert take_until_idle(items) == []
        later = hub.publish("again", topic="done")
        assert take(items, 1) == [later]
    with hub.subscribe(topic="other", from_start=True) as window:
        assert take_until_idle(iter(window)) == kept
    hub.forget("never published")
    with pytest.raises(TypeError):
        hub.forget(b"done")  # type: ignore[arg-type]


# --- unsubscribing -------------------------------------------------------------------


def test_closing_an_iterator_that_never_started_unsubscribes(hub_factory: HubFactory) -> None:
    hub = hub_factory()
    items: Any = iter(hub.subscribe())
    assert hub.subscriber_count == 1
    items.close()
    assert hub.subscriber_count == 0

    async def main() -> None:
        events: Any = hub.subscribe().__aiter__()
        assert hub.subscriber_count == 1
        await events.aclose()
        assert hub.subscriber_count == 0

    asyncio.run(asyncio.wait_for(main(), WAIT))


def test_a_subscription_is_iterated_once_and_closes_idempotently(
    hub_factory: HubFactory,
) -> None:
    hub = hub_factory()
    with hub.subscribe(topic="x") as subscription:
        assert subscription.topic == "x"
        items = iter(subscription)
        with pytest.raises(RuntimeError):
            iter(subscription)
        with pytest.raises(RuntimeError):
            subscription.__aiter__()
        assert hub.subscriber_count == 1
    assert hub.subscriber_count == 0
    subscription.close()
    assert hub.subscriber_count == 0
    assert list(items) == []
    hub.publish("nobody listens", topic="x")
