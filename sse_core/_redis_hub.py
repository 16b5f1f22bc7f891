# SPDX-License-Identifier: MIT
"""The broadcaster across processes and hosts, on Redis Streams.

:class:`RedisBroadcaster` keeps :class:`~sse_core.broadcast.Broadcaster`'s
interface, with Redis as the engine: a topic is a stream, a publish is an
``XADD`` trimmed to the replay window, and an event's ID is its stream entry
ID, so it means the same thing on every worker and host.  sse_core imports no
Redis module: the caller passes a redis-py client, and only its generic
``execute_command`` is called.

Theory of operation
-------------------
Publishing never delivers locally: every event, this process's own included,
reaches local subscribers through one reader thread, so each arrives once and
in stream order.  The reader sends ``XREAD BLOCK`` for every topic that has a
local subscriber, each after the last entry ID it delivered for that topic
(its *position*), over one connection: ten thousand subscribers cost one
Redis connection.  When a subscription opens a topic new to this process, it
adds an entry to this broadcaster's own wake-up stream, which the reader also
reads, so the reader starts reading the new topic at once.

A new subscription learns where to start under the lock that the reader takes
to deliver, so nothing falls between its replay and its live events: a
subscriber on a topic the reader already follows starts at the reader's
position; the replay (``XRANGE`` after the client's ``Last-Event-ID``) is read
up to that position, and the reader delivers everything after it.  A topic new
to this process starts at the stream's last entry, or after the replay.

When a command fails (Redis restarted, the connection dropped), the reader
logs it, marks the hub unhealthy, waits (doubling backoff, capped), and reads
again from the positions it had: nothing the window still holds is lost and
nothing is repeated.  A reader thread that ended anyway is restarted, with an
error logged, the next time the hub is used or asked whether it is healthy.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from ._errors import SSEError
from ._events import Event
from ._fanout import DEFAULT_QUEUE_SIZE, DEFAULT_REPLAY, POLICIES, Member

if TYPE_CHECKING:
    from .broadcast import Subscription

try:
    from typing import Protocol
except ImportError:  # pragma: no cover - Python 3.7 has no typing.Protocol; 3.8+ is required
    Protocol = object  # type: ignore[assignment]

__all__ = ("RedisBroadcaster", "BroadcastUnavailable", "RedisClient", "DEFAULT_PREFIX")

logger = logging.getLogger("sse_core.broadcast")

#: Prefix of every stream key: topic ``"orders"`` is the stream ``sse:orders``.
DEFAULT_PREFIX = "sse:"

#: Seconds one ``XREAD BLOCK`` waits.  The client's ``socket_timeout`` must be
#: longer; a shorter block only costs idle round trips.
DEFAULT_BLOCK = 1.0

#: Entries one ``XREAD`` or ``XRANGE`` returns at most, so a reader catching up
#: after an outage holds a bounded batch in memory at a time.
BATCH = 500

#: The reader's wait after a failed command doubles from the first to the last.
BACKOFF = (0.05, 2.0)

#: Seconds the wake-up stream outlives its last use (a crashed process leaves
#: nothing behind for longer).
WAKE_TTL_MS = 600_000

_ENTRY_ID = re.compile(r"\A([0-9]{1,20})-([0-9]{1,20})\Z")
_MAX_ID_PART = 2**64 - 1


class RedisClient(Protocol):
    """What :class:`RedisBroadcaster` needs of a client: a ``redis.Redis`` fits."""

    def execute_command(self, *args: Any, **options: Any) -> Any: ...


class BroadcastUnavailable(SSEError):
    """Redis did not carry out a command: unreachable, timed out, or refused it.

    Raised by :meth:`RedisBroadcaster.publish` (the event was not published)
    and :meth:`RedisBroadcaster.subscribe` (no subscription was made).  The
    client's own exception is chained as ``__cause__``.
    """


def parse_entry_id(value: str) -> Optional[Tuple[int, int]]:
    """``"1700000000000-3"`` as ``(1700000000000, 3)``; ``None`` if not a stream entry ID."""
    match = _ENTRY_ID.match(value)
    if match is None:
        return None
    ms, seq = int(match.group(1)), int(match.group(2))
    if ms > _MAX_ID_PART or seq > _MAX_ID_PART:
        return None
    return ms, seq


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> Dict[str, str]:
    """An entry's fields, whether the client parsed them into a dict or not."""
    if isinstance(raw, dict):
        return {_text(k): _text(v) for k, v in raw.items()}
    items = list(raw or ())
    return {_text(items[i]): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _pairs(raw: Any) -> Dict[str, Any]:
    """A reply of names and values (``XINFO``), as a dict or a flat list, by name."""
    items = list(raw.items()) if isinstance(raw, dict) else list(zip(raw[::2], raw[1::2]))
    return {_text(name): value for name, value in items}


def _entries(raw: Any) -> List[Event]:
    """Events from an ``XRANGE`` reply (or one stream's part of an ``XREAD`` reply)."""
    events = []
    for entry_id, raw_fields in raw or ():
        fields = _fields(raw_fields)
        retry = fields.get("r")
        events.append(
            Event(
                fields.get("d", ""),
                fields.get("e", "message"),
                _text(entry_id),
                int(retry) if retry is not None and retry.isdigit() else None,
            )
        )
    return events


def _streams(raw: Any) -> List[Tuple[str, Any]]:
    """``(key, entries)`` pairs from an ``XREAD`` reply: a list of pairs (RESP2),
    or a map (RESP3), whose entries redis-py may wrap in one more list."""
    if not raw:
        return []
    pairs = raw.items() if isinstance(raw, dict) else raw
    streams = []
    for key, entries in pairs:
        if len(entries) == 1 and not isinstance(entries[0][0], (bytes, str)):
            entries = entries[0]
        streams.append((_text(key), entries))
    return streams


class _Topic:
    """The local subscribers of one topic and the reader's position in its stream."""

    __slots__ = ("ahead", "members", "position")

    def __init__(self, position: Tuple[int, int]) -> None:
        self.position = position
        self.members: Dict[int, Member] = {}
        #: Members whose replay went past ``position``: the last ID each has.
        self.ahead: Dict[int, Tuple[int, int]] = {}


def _id_text(position: Tuple[int, int]) -> str:
    return "%d-%d" % position


#: Until the in-process hub's topics land: the default topic and the gap marker.
DEFAULT_TOPIC = "default"
GAP_EVENT = "sse-gap"


class RedisBroadcaster:
    """Publish events to every subscriber on every worker and host, through Redis.

    Args:
        client: a ``redis.Redis`` (redis-py) made by the caller; any client
            with a blocking ``execute_command`` serves.  Give it a
            ``socket_timeout`` longer than ``block``, so a hung server fails
            commands instead of hanging them.
        prefix: prepended to a topic to name its stream key.
        replay: the replay window, in events per topic: each ``XADD`` trims
            the stream to about this length (``MAXLEN ~``: Redis may keep a
            few dozen more, never fewer).
        queue_size, policy, idle_timeout: as :class:`~sse_core.broadcast.Broadcaster`.
        block: seconds one ``XREAD BLOCK`` of the reader waits.

    IDs are stream entry IDs (``"1700000000000-0"``).  All methods are
    thread-safe; :meth:`publish` and :meth:`subscribe` talk to Redis, so call
    :meth:`apublish` and :meth:`asubscribe` from coroutines.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        replay: int = DEFAULT_REPLAY,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        idle_timeout: float = 1.0,
        block: float = DEFAULT_BLOCK,
    ) -> None:
        if replay < 1:
            raise ValueError(f"replay must be >= 1, got {replay}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if idle_timeout <= 0 or block <= 0:
            raise ValueError("idle_timeout and block must be > 0")
        self._client = client
        self._prefix = prefix
        self._replay = replay
        self._queue_size = queue_size
        self._policy = policy
        self._idle_timeout = idle_timeout
        self._block_ms = max(1, int(block * 1000))
        self._lock = threading.Lock()
        self._topics: Dict[str, _Topic] = {}
        self._wakers: Dict[int, Callable[[], None]] = {}
        self._wake_key = f"{prefix}_wake:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._member_topics: Dict[int, str] = {}
        self._reader: Optional[threading.Thread] = None
        self._healthy = True
        self._last_error: Optional[BaseException] = None
        self.closed = False

    # -- state --------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """True while the reader runs and its last Redis command succeeded.

        Asking restarts a reader thread that ended (and logs an error), so a
        health check also repairs.
        """
        self._ensure_reader()
        return self._healthy and not self.closed

    @property
    def last_error(self) -> Optional[BaseException]:
        """The reader's last failure, ``None`` once a later command succeeded."""
        return self._last_error

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions of this process are open."""
        with self._lock:
            return sum(len(topic.members) for topic in self._topics.values())

    def _key(self, topic: str) -> str:
        if not isinstance(topic, str):
            raise TypeError(f"topic must be str, got {type(topic).__name__}")
        return self._prefix + topic

    def _command(self, *args: Any) -> Any:
        try:
            return self._client.execute_command(*args)
        except Exception as error:
            raise BroadcastUnavailable(f"Redis failed {args[0]}: {error!r}") from error

    # -- publishing ---------------------------------------------------------

    def publish(
        self,
        data: str,
        event: str = "message",
        retry: Optional[int] = None,
        *,
        topic: str = DEFAULT_TOPIC,
    ) -> Event:
        """Append an event to ``topic``'s stream; returns it with its entry ID.

        It reaches this process's subscribers through the reader, like
        everyone else's.  Blocks for one Redis round trip: use
        :meth:`apublish` from a coroutine.

        Raises:
            TypeError, LocalProtocolError: as :class:`~sse_core.Event`.
            RuntimeError: the broadcaster is closed.
            BroadcastUnavailable: Redis did not take it (nothing was published).
        """
        Event(data, event, None, retry)  # validates before anything is sent
        if self.closed:
            raise RuntimeError("publish() on a closed broadcaster")
        args: List[Any] = ["XADD", self._key(topic), "MAXLEN", "~", self._replay, "*", "d", data]
        if event != "message":
            args += ["e", event]
        if retry is not None:
            args += ["r", retry]
        entry_id = _text(self._command(*args))
        return Event(data, event, entry_id, retry)

    async def apublish(
        self,
        data: str,
        event: str = "message",
        retry: Optional[int] = None,
        *,
        topic: str = DEFAULT_TOPIC,
    ) -> Event:
        """:meth:`publish` in the loop's default executor, so the loop never waits on Redis."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: self.publish(data, event, retry, topic=topic)
        )

    # -- subscribing --------------------------------------------------------

    def subscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription:
        """A new subscription to ``topic``, starting with the replay after ``last_event_id``.

        ``last_event_id`` is the client's sanitised ``Last-Event-ID``.  An
        entry ID still in the window replays what follows it; an entry ID older
        than the window replays a ``GAP_EVENT`` marker (no ID) and then the
        whole window; anything else (empty, malformed, from another
        deployment) replays nothing.  ``from_start`` replays the whole window.

        Talks to Redis unless this process already follows ``topic`` and there
        is nothing to replay: use :meth:`asubscribe` from a coroutine.

        Raises:
            TypeError: ``topic`` is not a string.
            BroadcastUnavailable: Redis could not be read (no subscription was made).
        """
        from .broadcast import Subscription

        key = self._key(topic)
        member = Member()
        if self.closed:
            member.closed = True
        else:
            self._ensure_reader()
            self._join(topic, key, member, last_event_id, from_start)
        return Subscription(self, member, self._idle_timeout)  # type: ignore[arg-type]

    async def asubscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription:
        """:meth:`subscribe` in the loop's default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: self.subscribe(last_event_id, topic=topic, from_start=from_start)
        )

    def _join(
        self, topic: str, key: str, member: Member, last_event_id: str, from_start: bool
    ) -> None:
        """Queue ``member``'s replay and add it to ``topic`` where the reader is.

        ``cursor`` is the last ID the replay covers (``None``: start now).
        Under the lock, a topic the reader follows at ``position`` takes the
        member when ``cursor`` reached it; otherwise the replay is read on up to
        there, outside the lock, and the check repeats.
        """
        replay: List[Event] = []
        cursor: Optional[Tuple[int, int]] = None
        after = parse_entry_id(last_event_id)
        if from_start:
            cursor = (0, 0)
        elif after is not None:
            replay, gap, found = self._replay_from(key, after)
            # An ID that is not in the stream, with nothing after it, is
            # another deployment's (or from the future): start now.
            cursor = parse_entry_id(replay[-1].id or "") if replay else after if found else None
            if gap:
                replay.insert(0, Event("", GAP_EVENT))
        new_topic = False
        while True:
            with self._lock:
                state = self._topics.get(topic)
                if state is not None and (cursor is None or cursor >= state.position):
                    self._add(state, topic, member, replay, cursor)
                    break
                target = state.position if state is not None else None
            if target is None:
                top = self._top(key)
                with self._lock:
                    if topic not in self._topics and (cursor is None or cursor >= top):
                        state = self._topics[topic] = _Topic(top)
                        self._add(state, topic, member, replay, cursor)
                        new_topic = True
                        break
                if topic in self._topics or cursor is None:
                    continue
                target = top
            assert cursor is not None
            more = _entries(
                self._command(
                    "XRANGE", key, "(" + _id_text(cursor), _id_text(target), "COUNT", BATCH
                )
            )
            replay += more
            cursor = parse_entry_id(more[-1].id or "") if more else target
        if new_topic:
            self._wake()

    def _replay_from(
        self, key: str, after: Tuple[int, int]
    ) -> Tuple[List[Event], bool, bool]:
        """The first page of events after ``after``, whether the window lost some,
        and whether ``after`` itself is in the stream."""
        page = _entries(self._command("XRANGE", key, _id_text(after), "+", "COUNT", BATCH + 1))
        if page and page[0].id == _id_text(after):
            return page[1:], False, True
        if not page:
            return page, False, False
        # Older than the first entry: lost to trimming, unless the stream never
        # dropped an entry (Redis 7 counts them; older servers are assumed to have).
        info = _pairs(self._command("XINFO", "STREAM", key))
        first = _entries([info["first-entry"]]) if info.get("first-entry") else []
        added, length = info.get("entries-added"), info.get("length")
        trimmed = added is None or length is None or int(added) > int(length)
        gap = trimmed and bool(first) and parse_entry_id(first[0].id or "") > after  # type: ignore[operator]
        return page, gap, False

    def _top(self, key: str) -> Tuple[int, int]:
        """The ID of the stream's last entry, ``(0, 0)`` for an empty or missing stream."""
        last = _entries(self._command("XREVRANGE", key, "+", "-", "COUNT", 1))
        return (parse_entry_id(last[0].id or "") or (0, 0)) if last else (0, 0)

    def _add(
        self,
        state: _Topic,
        topic: str,
        member: Member,
        replay: List[Event],
        cursor: Optional[Tuple[int, int]],
    ) -> None:
        """Queue the replay and join; called under the lock.

        A replay that reaches past the reader's position (the reader is
        behind Redis) makes the member skip live events up to its ``cursor``.
        """
        ready = replay
        if cursor is not None and cursor > state.position:
            state.ahead[id(member)] = cursor
        if len(ready) > self._queue_size:
            # The replay alone would overflow the queue: keep the newest, marked as a gap.
            ready = [Event("", GAP_EVENT), *ready[len(ready) - self._queue_size + 1 :]]
        member.queue.extend(ready)
        state.members[id(member)] = member
        self._member_topics[id(member)] = topic
        self._changed.set()

    def _wake(self) -> None:
        """Interrupt the reader's ``XREAD BLOCK`` so it reads the new key set now."""
        try:
            self._client.execute_command("XADD", self._wake_key, "MAXLEN", 1, "*", "w", 1)
            self._client.execute_command("PEXPIRE", self._wake_key, WAKE_TTL_MS)
        except Exception:
            # The reader is failing too, and reads the new topic once Redis is back.
            logger.debug("sse_core: could not wake the Redis reader", exc_info=True)

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """End every subscription (after what each has queued), stop the reader,
        and refuse new publishes.  New subscriptions end at once.  Idempotent."""
        with self._lock:
            self.closed = True
            for state in self._topics.values():
                for member in state.members.values():
                    member.closed = True
            self._topics.clear()
            wakers = list(self._wakers.values())
            reader = self._reader
        for wake in wakers:
            wake()
        self._stop.set()
        self._changed.set()
        if reader is not None and reader.is_alive():
            self._wake()
            reader.join(self._block_ms / 1000 + 5)
        try:
            self._client.execute_command("DEL", self._wake_key)
        except Exception:
            logger.debug("sse_core: could not delete the wake-up stream", exc_info=True)

    # -- called by Subscription ---------------------------------------------

    def _bind(self, member: Member, wake: Callable[[], None]) -> None:
        with self._lock:
            if not member.closed:
                self._wakers[id(member)] = wake

    def _take(self, member: Member) -> Tuple[List[Event], bool]:
        with self._lock:
            return member.take(), member.finished

    def _leave(self, member: Member) -> None:
        with self._lock:
            member.closed = True
            self._wakers.pop(id(member), None)
            topic = self._member_topics.pop(id(member), None)
            state = self._topics.get(topic) if topic is not None else None
            if state is not None:
                state.members.pop(id(member), None)
                state.ahead.pop(id(member), None)
                if not state.members:
                    del self._topics[topic]  # type: ignore[arg-type]

    def _offer(self, member: Member, item: Event) -> None:
        if member.finished:
            return
        if len(member.queue) >= self._queue_size:
            if self._policy == "disconnect":
                member.overflowed = True
                member.queue.clear()
                return
            member.queue.popleft()
            member.dropped += 1
        member.queue.append(item)

    # -- the reader -----------------------------------------------------------

    def _ensure_reader(self) -> None:
        """Start the reader thread, or restart one that ended while the hub is open."""
        with self._lock:
            if self.closed or (self._reader is not None and self._reader.is_alive()):
                return
            if self._reader is not None:
                logger.error("sse_core: the Redis reader thread had ended; restarting it")
            self._reader = threading.Thread(
                target=self._run, name="sse_core-redis-reader", daemon=True
            )
            self._reader.start()

    def _run(self) -> None:
        delay = BACKOFF[0]
        wake_position = "0-0"
        try:
            while not self._stop.is_set():
                self._changed.clear()
                with self._lock:
                    positions = {t: _id_text(s.position) for t, s in self._topics.items()}
                if not positions:
                    self._changed.wait(self._block_ms / 1000)
                    continue
                keys = [self._prefix + topic for topic in positions]
                try:
                    reply = self._client.execute_command(
                        "XREAD", "COUNT", BATCH, "BLOCK", self._block_ms, "STREAMS",
                        *keys, self._wake_key, *positions.values(), wake_position,
                    )  # fmt: skip
                    wake_position = self._deliver(reply, wake_position)
                except Exception as error:
                    self._failed(error)
                    self._stop.wait(delay)
                    delay = min(delay * 2, BACKOFF[1])
                    continue
                if not self._healthy:
                    logger.warning("sse_core: the Redis reader is reading again")
                self._healthy, self._last_error, delay = True, None, BACKOFF[0]
        except BaseException:
            # Not re-raised: the thread ends here, said so, and the next call
            # to the hub starts another (_ensure_reader).
            logger.exception("sse_core: the Redis reader thread failed")
        finally:
            self._healthy = self._stop.is_set()

    def _failed(self, error: BaseException) -> None:
        if self._healthy:
            logger.error("sse_core: the Redis reader failed; retrying", exc_info=error)
        self._healthy, self._last_error = False, error

    def _deliver(self, reply: Any, wake_position: str) -> str:
        """Queue each new entry of the reply for its topic's members; wake them."""
        woken: List[Callable[[], None]] = []
        with self._lock:
            for key, raw in _streams(reply):
                events = _entries(raw)
                if key == self._wake_key:
                    wake_position = events[-1].id or wake_position if events else wake_position
                    continue
                state = self._topics.get(key[len(self._prefix) :])
                if state is None:
                    continue
                for item in events:
                    entry_id = parse_entry_id(item.id or "")
                    if entry_id is None or entry_id <= state.position:
                        continue
                    state.position = entry_id
                    ahead = state.ahead
                    for key_id, member in state.members.items():
                        if not ahead or ahead.get(key_id, (0, 0)) < entry_id:
                            self._offer(member, item)
                if state.ahead:
                    state.ahead = {i: c for i, c in state.ahead.items() if c > state.position}
                woken += [self._wakers[i] for i in state.members if i in self._wakers]
        for wake in woken:
            wake()
        return wake_position
