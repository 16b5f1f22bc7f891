# SPDX-License-Identifier: MIT
"""RedisBroadcaster against a real redis-server: IDs, topics, replay, gaps, faults.

One ``redis-server`` (append-only, fsync always) serves the module; each test
has its own key prefix.  The tests that kill it start their own.  Every wait
is bounded; no test asserts a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from sse_core import Event
from sse_core._redis_hub import BATCH, parse_entry_id
from sse_core.broadcast import BroadcastUnavailable, RedisBroadcaster, Subscription

from ._redis import RedisServer, redis_server, redis_server_binary
from ._servers import wait_until

pytestmark = pytest.mark.timeout(60)

GAP = "sse-gap"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def client(server: RedisServer) -> Iterator[Any]:
    made = server.client()
    yield made
    made.close()


@pytest.fixture
def hub(client: Any) -> Iterator[RedisBroadcaster]:
    made = RedisBroadcaster(client, prefix=f"t{uuid.uuid4().hex[:8]}:", block=0.2, idle_timeout=0.1)
    yield made
    made.close()


class Reader:
    """One subscription iterated from this thread, a few events at a time."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.items = iter(subscription)

    def take(self, count: int, timeout: float = 10.0) -> List[Event]:
        """The next ``count`` events."""
        events: List[Event] = []
        deadline = time.monotonic() + timeout
        while len(events) < count:
            assert time.monotonic() < deadline, f"got {len(events)} of {count} events"
            item = next(self.items)
            if item is not None:
                events.append(item)
        return events

    def queued(self) -> List[Event]:
        """What is waiting, up to the first idle timeout or the end of the stream."""
        events: List[Event] = []
        for item in self.items:
            if item is None:
                break
            events.append(item)
        return events


def reader(hub: RedisBroadcaster, last_event_id: str = "", **options: Any) -> Reader:
    return Reader(hub.subscribe(last_event_id, **options))


def test_redis_server_is_installed() -> None:
    # The Redis tests fail, never skip, without it: this names the fix.
    assert redis_server_binary()


def test_publish_returns_the_stream_entry_id(hub: RedisBroadcaster, client: Any) -> None:
    first = hub.publish("one")
    second = hub.publish('{"x": 1}', event="update", retry=2500, topic="other")
    assert parse_entry_id(first.id or "") is not None
    assert (first.data, first.event, first.retry) == ("one", "message", None)
    assert (second.event, second.retry) == ("update", 2500)
    stored = client.execute_command("XRANGE", hub._key("other"), "-", "+")
    assert [entry_id.decode() for entry_id, _ in stored] == [second.id]
    # Replayed from Redis, the event comes back whole.
    assert reader(hub, "0-1", topic="other").queued() == [second]


def test_own_publishes_arrive_once_and_in_order(hub: RedisBroadcaster) -> None:
    subscription = reader(hub)
    sent = [hub.publish(str(n)) for n in range(50)]
    assert subscription.take(50) == sent
    assert subscription.queued() == []  # nothing twice
    assert hub.healthy and hub.last_error is None


def test_topics_are_separate_streams(hub: RedisBroadcaster) -> None:
    a, b = reader(hub, topic="a"), reader(hub, topic="b")
    default = reader(hub)
    sent_a = [hub.publish(f"a{n}", topic="a") for n in range(5)]
    sent_b = [hub.publish(f"b{n}", topic="b") for n in range(3)]
    sent_default = hub.publish("d")
    assert a.take(5) == sent_a and b.take(3) == sent_b and default.take(1) == [sent_default]
    assert a.queued() == b.queued() == []
    assert hub.subscriber_count == 3
    with pytest.raises(TypeError):
        hub.publish("x", topic=b"a")  # type: ignore[arg-type]


def test_replay_after_last_event_id(hub: RedisBroadcaster) -> None:
    sent = [hub.publish(str(n)) for n in range(6)]
    assert reader(hub, sent[2].id or "").queued() == sent[3:]
    assert reader(hub, sent[-1].id or "").queued() == []
    assert reader(hub, from_start=True).queued() == sent
    # Malformed, foreign or future IDs replay nothing, and live events still come.
    for foreign in ("", "42", "abc", "1-2-3", "99999999999999999999999-0", "999999999999999-0"):
        subscription = reader(hub, foreign)
        assert subscription.queued() == [], foreign
    live = reader(hub, "not-an-id")
    sent_live = hub.publish("live")
    assert live.take(1) == [sent_live]


def test_replay_meets_live_events_without_gap_or_repeat(hub: RedisBroadcaster) -> None:
    # The topic is followed by the reader already, while a publisher runs: a
    # replaying subscriber gets every event after its ID exactly once.
    follower = reader(hub)
    first = hub.publish("0")
    sent = [first]
    stop = threading.Event()

    def publish() -> None:
        while not stop.is_set() and len(sent) < 400:
            sent.append(hub.publish(str(len(sent))))

    thread = threading.Thread(target=publish)
    thread.start()
    try:
        joiners = []
        for _ in range(8):
            time.sleep(0.01)
            joiners.append(reader(hub, first.id or ""))
    finally:
        stop.set()
        thread.join(10)
    assert follower.take(len(sent)) == sent
    for joiner in joiners:
        assert joiner.take(len(sent) - 1) == sent[1:]


def test_a_new_topic_follows_on_from_its_replay(hub: RedisBroadcaster, client: Any) -> None:
    # More than one XRANGE page to replay on a topic no subscriber follows yet.
    count = BATCH + 20
    for n in range(count):
        hub.publish(str(n), topic="deep")
    subscription = reader(hub, "0-1", topic="deep")
    later = hub.publish("later", topic="deep")
    events = subscription.take(count + 1)
    assert [e.data for e in events] == [*map(str, range(count)), "later"]
    assert events[-1] == later


def test_a_last_event_id_older_than_the_window_gets_a_gap_marker(client: Any) -> None:
    hub = RedisBroadcaster(client, prefix=f"g{uuid.uuid4().hex[:8]}:", replay=10, idle_timeout=0.1)
    try:
        sent = [hub.publish(str(n)) for n in range(400)]
        window = [
            e
            for e in sent
            if e.id and client.execute_command("XRANGE", hub._key("default"), e.id, e.id)
        ]
        assert 10 <= len(window) < 400  # MAXLEN ~ keeps at least the window
        events = reader(hub, sent[0].id or "").queued()
        assert events[0] == Event("", GAP)
        assert events[1:] == window
        # An ID inside the window replays after it, with no marker.
        assert reader(hub, window[0].id or "").queued() == window[1:]
        # A replay longer than the queue keeps the newest, behind a marker.
        small = RedisBroadcaster(client, prefix=hub._prefix, queue_size=4, idle_timeout=0.1)
        events = reader(small, from_start=True).queued()
        assert events == [Event("", GAP), *window[-3:]]
        small.close()
    finally:
        hub.close()


def test_an_untrimmed_stream_has_no_gap(hub: RedisBroadcaster) -> None:
    sent = [hub.publish(str(n)) for n in range(3)]
    assert reader(hub, "1-0").queued() == sent  # older than the stream, but none was lost


@pytest.mark.parametrize("policy", ["disconnect", "drop_oldest"])
def test_a_slow_subscriber_stays_bounded(client: Any, policy: str) -> None:
    hub = RedisBroadcaster(
        client, prefix=f"s{uuid.uuid4().hex[:8]}:", queue_size=5, policy=policy, idle_timeout=0.1
    )
    try:
        slow = reader(hub)
        fast = reader(hub)
        sent: List[Event] = []
        for _ in range(40):  # the fast one keeps up, five events at a time
            batch = [hub.publish(str(len(sent) + n)) for n in range(5)]
            assert fast.take(5) == batch
            sent += batch
        state = slow.subscription
        assert len(state._queue) <= 5
        if policy == "disconnect":
            assert state.overflowed and slow.queued() == []
        else:
            assert state.dropped == 195 and slow.queued() == sent[-5:]
        slow.subscription.close()
    finally:
        hub.close()


def test_asyncio_publish_and_subscribe(hub: RedisBroadcaster) -> None:
    async def main() -> List[Event]:
        subscription = await hub.asubscribe(topic="aio")
        sent = [await hub.apublish(str(n), topic="aio") for n in range(20)]
        received = []
        async for event in subscription:
            received.append(event)
            if len(received) == 20:
                break
        assert received == sent
        return received

    assert len(asyncio.run(asyncio.wait_for(main(), 20))) == 20


def test_close_ends_subscriptions_and_stops_the_reader(client: Any) -> None:
    hub = RedisBroadcaster(client, prefix=f"c{uuid.uuid4().hex[:8]}:", block=0.2, idle_timeout=0.1)
    subscription = reader(hub)
    sent = hub.publish("last")
    wait_until(lambda: len(subscription.subscription._queue) == 1, what="delivery")
    thread = hub._reader
    hub.close()
    hub.close()
    assert subscription.queued() == [sent]  # what was queued, then the end
    assert thread is not None and not thread.is_alive()
    assert not hub.healthy
    with pytest.raises(RuntimeError):
        hub.publish("late")
    assert list(hub.subscribe()) == []
    assert client.execute_command("EXISTS", hub._wake_key) == 0


@pytest.mark.parametrize(
    "options",
    [{"replay": 0}, {"queue_size": 0}, {"policy": "block"}, {"idle_timeout": 0}, {"block": 0}],
)
def test_bad_arguments(client: Any, options: Any) -> None:
    with pytest.raises(ValueError):
        RedisBroadcaster(client, **options)


def test_resp3_replies_are_read_too(server: RedisServer) -> None:
    client = server.client(protocol=3)
    hub = RedisBroadcaster(client, prefix=f"r{uuid.uuid4().hex[:8]}:", idle_timeout=0.1)
    small = RedisBroadcaster(client, prefix=f"s{uuid.uuid4().hex[:8]}:", replay=10)
    try:
        subscription = reader(hub)
        sent = [hub.publish(str(n), event="tick") for n in range(300)]
        assert subscription.take(300) == sent
        kept = [small.publish(str(n), event="tick") for n in range(30)]
        events = reader(small, kept[0].id or "").queued()
        assert events[0].event == GAP and events[1:] == kept[-10:]
    finally:
        hub.close()
        small.close()
        client.close()


class FlakyClient:
    """A real client whose next ``XREAD`` calls fail, or kill the reader thread,
    and which runs a hook (once) before the next call of a command."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.failures = 0
        self.fatal: Optional[BaseException] = None
        self.hooks: Dict[str, Callable[[], None]] = {}

    def execute_command(self, *args: Any, **options: Any) -> Any:
        hook = self.hooks.pop(args[0], None)
        if hook is not None:
            hook()
        if args[0] == "XREAD" and self.fatal is not None:
            fatal, self.fatal = self.fatal, None
            raise fatal
        if args[0] == "XREAD" and self.failures:
            self.failures -= 1
            raise ConnectionError("injected: the reader's connection failed")
        return self.client.execute_command(*args, **options)


@contextlib.contextmanager
def flaky_hub(client: Any, **options: Any) -> Iterator[Tuple[FlakyClient, RedisBroadcaster]]:
    """A hub on a :class:`FlakyClient` of ``client``, with its own key prefix,
    a short read block and idle timeout; closed at the end."""
    flaky = FlakyClient(client)
    hub = RedisBroadcaster(
        flaky, prefix=f"f{uuid.uuid4().hex[:8]}:", block=0.2, idle_timeout=0.1, **options
    )
    try:
        yield flaky, hub
    finally:
        hub.close()


class ReaderKilled(BaseException):
    """Ends the reader thread the way no ``except Exception`` catches."""


def test_reader_failure_is_noticed_and_repaired(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with flaky_hub(client) as (flaky, hub):
        subscription = reader(hub)
        sent = [hub.publish("before")]
        assert subscription.take(1) == sent
        with caplog.at_level(logging.WARNING, logger="sse_core.broadcast"):
            flaky.failures = 10**9  # every read fails until the test says otherwise
            wait_until(lambda: not hub.healthy, what="the failure to show")
            assert isinstance(hub.last_error, ConnectionError)
            sent += [hub.publish(str(n)) for n in range(10)]  # publishing still works
            flaky.failures = 0
            wait_until(lambda: hub.healthy, what="the reader to recover")
            assert hub.last_error is None
        assert subscription.take(10) == sent[1:]
        assert "the Redis reader failed" in caplog.text and "reading again" in caplog.text
        # A thread that dies is restarted by the next health check, and says so.
        with caplog.at_level(logging.ERROR, logger="sse_core.broadcast"):
            flaky.fatal = ReaderKilled()
            thread = hub._reader
            assert thread is not None
            thread.join(10)
            assert not thread.is_alive()
            sent.append(hub.publish("while dead"))
            wait_until(lambda: hub.healthy, what="the restarted reader")
        assert hub._reader is not thread and hub._reader is not None and hub._reader.is_alive()
        assert "reader thread had ended; restarting" in caplog.text
        assert subscription.take(1) == sent[-1:]


def test_reader_connection_killed_by_redis(hub: RedisBroadcaster, client: Any) -> None:
    subscription = reader(hub)
    sent = [hub.publish("0")]
    assert subscription.take(1) == sent
    for n in range(5):
        client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        sent.append(hub.publish(str(n + 1)))
    wait_until(lambda: hub.healthy, what="the reader")
    assert subscription.take(5) == sent[1:]
    assert subscription.queued() == []


def test_forget_deletes_the_stream_and_ends_local_subscriptions(
    hub: RedisBroadcaster, client: Any
) -> None:
    follower = reader(hub, topic="session")
    sent = hub.publish("one", topic="session")
    assert follower.take(1) == [sent]
    hub.forget("session")
    assert client.execute_command("EXISTS", hub._key("session")) == 0
    assert follower.queued() == []  # ended
    assert hub.subscriber_count == 0
    # Published again, the topic is a new stream, and an ID of the old one
    # resumes into it (entry IDs keep growing).
    resumed = reader(hub, sent.id or "", topic="session")
    again = hub.publish("two", topic="session")
    assert resumed.take(1) == [again]


def test_redis_down_publish_and_subscribe_fail_clearly(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        client = server.client(socket_connect_timeout=1.0)
        hub = RedisBroadcaster(client, prefix="down:", block=0.2, idle_timeout=0.1)
        follower = reader(hub)
        server.kill()
        with pytest.raises(BroadcastUnavailable) as info:
            hub.publish("lost")
        assert info.value.__cause__ is not None
        with pytest.raises(BroadcastUnavailable):
            hub.subscribe(topic="new")  # a topic nobody here follows needs Redis
        with pytest.raises(BroadcastUnavailable):
            hub.forget("default")  # nothing deleted: the subscription stays open
        assert hub.subscriber_count == 1
        wait_until(lambda: not hub.healthy, what="the reader to notice")
        # A topic this process follows opens without Redis and catches up later.
        joined = reader(hub)
        server.start()
        sent = hub.publish("back")
        assert follower.take(1) == [sent] and joined.take(1) == [sent]
        hub.close()
        # Closing while Redis is down leaves the wake-up stream to expire.
        other = RedisBroadcaster(client, prefix="down:", block=0.2)
        assert other.subscribe().topic == "default"
        server.kill()
        other.close()
        assert other.closed
        client.close()


def test_redis_killed_and_restarted_mid_stream(tmp_path: Path) -> None:
    """SIGKILL redis-server under a publisher: every acknowledged event arrives once."""
    with redis_server(tmp_path) as server:
        client = server.client()
        hub = RedisBroadcaster(client, prefix="kill:", block=0.2, idle_timeout=0.1)
        publisher_client = server.client()
        publisher = RedisBroadcaster(publisher_client, prefix="kill:")
        subscriptions = [reader(hub, topic=f"t{n % 3}") for n in range(30)]
        published: List[List[Event]] = [[], [], []]
        refused = 0
        for n in range(300):
            if n == 100:
                server.kill()
            if n == 150:
                server.start()
            try:
                published[n % 3].append(publisher.publish(str(n), topic=f"t{n % 3}"))
            except BroadcastUnavailable:
                refused += 1
                time.sleep(0.01)
        delivered = lost = repeated = 0
        for n, subscription in enumerate(subscriptions):
            expected = published[n % 3]
            received = subscription.take(len(expected), timeout=20)
            delivered += len(received)
            lost += len({e.id for e in expected} - {e.id for e in received})
            repeated += len(received) - len({e.id for e in received})
            assert received == expected
        count = sum(map(len, published))
        counts = dict(published=count, refused=refused, delivered=delivered)
        print(" ".join(f"{k}={v}" for k, v in counts.items()), f"lost={lost} repeated={repeated}")
        assert refused == 50 and count == 250
        assert (delivered, lost, repeated) == (count * 10, 0, 0)
        hub.close()
        publisher.close()
        client.close()
        publisher_client.close()


def hold_the_reader(flaky: FlakyClient) -> threading.Event:
    """Stop the reader before its next ``XREAD`` (its positions already taken)
    until the returned event is set."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        assert release.wait(10)

    flaky.hooks["XREAD"] = hold
    assert entered.wait(10)
    return release


def test_a_reader_lagging_past_the_window_gives_the_gap_marker(client: Any) -> None:
    # The reader is held while more events than the window are published:
    # those trimmed before it reads them are lost to its subscribers, who are
    # told so, never silently.
    with flaky_hub(client, replay=5) as (flaky, hub):
        follower = reader(hub)
        first = hub.publish("first")
        assert follower.take(1) == [first]
        release = hold_the_reader(flaky)
        sent = [hub.publish(str(n)) for n in range(12)]
        release.set()
        got = follower.take(6)
        assert got[0].event == GAP and got[0].id is None
        assert got[1:] == sent[-5:] and follower.queued() == []
        # Caught up, it reads on without another marker.
        later = hub.publish("later")
        assert follower.take(1) == [later]


def test_resuming_past_a_lagging_reader_repeats_nothing(client: Any) -> None:
    with flaky_hub(client) as (flaky, hub):
        follower = reader(hub)
        release = hold_the_reader(flaky)
        sent = [hub.publish(str(n)) for n in range(3)]
        # The client saw up to sent[1] elsewhere; this worker's reader has not
        # read any of them yet.
        joiner = reader(hub, sent[1].id or "")
        # Its XREAD, from before, returns only what the joiner handed on.
        next_read = threading.Event()
        flaky.hooks["XREAD"] = next_read.set
        release.set()
        assert next_read.wait(10)
        sent.append(hub.publish("3"))
        assert follower.take(4) == sent and follower.queued() == []
        assert joiner.take(2) == sent[2:] and joiner.queued() == []


def test_a_topic_left_while_the_reader_waits(client: Any) -> None:
    with flaky_hub(client) as (flaky, hub):
        gone = hub.subscribe(topic="gone")
        stays = reader(hub, topic="stays")
        release = hold_the_reader(flaky)
        gone.close()
        hub.publish("to nobody", topic="gone")
        release.set()
        later = hub.publish("later", topic="stays")
        assert stays.take(1) == [later]
        assert hub.healthy


def test_two_subscribers_open_a_new_topic_at_once(client: Any) -> None:
    with flaky_hub(client) as (flaky, hub):
        first: List[Reader] = []
        # While the second looks for the stream's end, the first opens the topic.
        flaky.hooks["XREVRANGE"] = lambda: first.append(reader(hub, topic="new"))
        second = reader(hub, topic="new")
        assert len(first) == 1 and hub.subscriber_count == 2
        sent = hub.publish("hello", topic="new")
        assert first[0].take(1) == [sent] and second.take(1) == [sent]


def test_a_failed_wake_up_only_delays_a_new_topic(client: Any) -> None:
    with flaky_hub(client) as (flaky, hub):
        busy = reader(hub, topic="busy")

        def refuse() -> None:
            raise ConnectionError("injected: the wake-up could not be sent")

        flaky.hooks["XADD"] = refuse
        quiet = reader(hub, topic="quiet")
        assert "XADD" not in flaky.hooks
        sent = hub.publish("found within one block", topic="quiet")
        assert quiet.take(1) == [sent] and busy.queued() == []


def test_entry_ids_are_read_strictly() -> None:
    assert parse_entry_id("1-0") == (1, 0)
    assert parse_entry_id("18446744073709551615-18446744073709551615") == (2**64 - 1,) * 2
    for bad in (
        "18446744073709551616-0",
        "0-18446744073709551616",
        "1",
        "1-",
        "-1",
        " 1-0",
        "1-0\n",
    ):
        assert parse_entry_id(bad) is None, bad


def test_a_client_that_parses_no_reply(server: RedisServer) -> None:
    # Without redis-py's reply parsers, entries come as flat lists of fields.
    raw = server.client()
    raw.response_callbacks.clear()
    hub = RedisBroadcaster(raw, prefix=f"p{uuid.uuid4().hex[:8]}:", block=0.2, idle_timeout=0.1)
    try:
        live = reader(hub)
        sent = [hub.publish(str(n), event="raw", retry=10) for n in range(3)]
        assert live.take(3) == sent
        assert reader(hub, sent[0].id or "").queued() == sent[1:]
    finally:
        hub.close()
        raw.close()


def test_max_age_and_replay_bytes_bound_the_window(client: Any) -> None:
    hub = RedisBroadcaster(
        client, prefix=f"a{uuid.uuid4().hex[:8]}:", max_age=1.0, replay_bytes=2000, idle_timeout=0.1
    )
    try:
        old = [hub.publish(str(n)) for n in range(3)]
        assert reader(hub, from_start=True).queued() == old  # the stream's first: no marker
        time.sleep(1.3)
        new = hub.publish("new")
        assert reader(hub, from_start=True).queued() == [Event("", GAP), new]
        assert reader(hub, old[0].id or "").queued() == [Event("", GAP), new]
        # An event larger than replay_bytes is kept, alone: the newest always is.
        large = hub.publish("x" * 5000)
        assert reader(hub, from_start=True).queued() == [Event("", GAP), large]
        assert reader(hub, new.id or "").queued() == [large]
    finally:
        hub.close()


def test_publish_sends_the_script_again_after_a_flush(hub: RedisBroadcaster, client: Any) -> None:
    live = reader(hub)
    first = hub.publish("cached")
    client.execute_command("SCRIPT", "FLUSH")  # as after a restart without it
    second = hub.publish("sent whole")
    assert live.take(2) == [first, second]
    assert client.execute_command("SCRIPT", "EXISTS", hub_script_sha()) == [1]


def hub_script_sha() -> str:
    from sse_core._redis_hub import PUBLISH_SHA

    return PUBLISH_SHA
