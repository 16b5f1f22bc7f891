# SPDX-License-Identifier: MIT
"""The broadcaster across processes and hosts, on Redis Streams.

:class:`RedisBroadcaster` keeps :class:`~sse_core.broadcast.Broadcaster`'s
interface with Redis as the engine: a topic is a stream, a publish appends an
entry and trims the stream to the replay window, and an event's ID is its
stream entry ID, so it means the same thing on every worker and host.
sse_core imports no Redis module: the caller passes a redis-py client, and
only its generic ``execute_command`` is called.  Local subscribers, their
queues and wake-ups are :class:`~sse_core._fanout.LocalHub`'s, as in process.

Theory of operation
-------------------
A publish is one Lua script (:data:`PUBLISH_SCRIPT`, called by its SHA1 once
Redis has it), atomic in Redis: it adds
the entry with the ID of the entry before it and the running byte count, then
trims the oldest entries beyond ``replay`` events, ``replay_bytes`` bytes and
``max_age`` seconds.  Knowing its predecessor, the oldest entry tells a
resuming client whether it missed trimmed events (a gap) or saw the last of
them.

Publishing never delivers locally: every event, this process's own included,
reaches local subscribers through one reader thread, so each arrives once and
in stream order.  The reader sends ``XREAD BLOCK`` for every topic that has a
local subscriber, each after the last entry ID it delivered for that topic
(its *position*), over one connection: ten thousand subscribers cost one
Redis connection.  When a topic new to this process gets a subscriber, an
entry goes to this broadcaster's own wake-up stream, which the reader also
reads, so it starts reading the new topic at once.

A subscriber is opened under the local hub's lock, which the reader holds to
deliver, at the point where its replay meets the position: its replay
(``XRANGE`` after the client's ``Last-Event-ID``) is read on up to the
position, and the reader delivers what follows.  If its replay went past the
position (the reader is a little behind Redis), the subscription hands those
events to the topic's other subscribers itself and moves the position up, so
no event reaches anyone twice.  A topic new to this process starts at the
stream's last entry, or where the replay ends.

When a command fails (Redis restarted, the connection dropped), the reader
logs it, marks the hub unhealthy, waits (doubling backoff, capped), and reads
again from the positions it had: nothing the window still holds is lost and
nothing is repeated.  A reader thread that ended anyway is restarted, with an
error logged, the next time the hub is used or asked whether it is healthy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
import uuid
from typing import Any, Dict, List, Optional, Tuple

from ._errors import SSEError
from ._events import Event
from ._fanout import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_TOPIC,
    GAP,
    LocalHub,
    Subscription,
)
from ._replay import DEFAULT_REPLAY, DEFAULT_REPLAY_BYTES, event_size

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

#: Milliseconds the wake-up stream outlives its last use (a crashed process
#: leaves nothing behind for longer).
WAKE_TTL_MS = 600_000

#: Bytes an entry ID adds to an event's size (``"1700000000000-0"`` and room).
_ID_SIZE = 16

#: KEYS[1] the stream; ARGV: replay, replay_bytes, max_age (ms, 0 for none),
#: the event's size, then its fields.  Adds the entry with ``p`` (the ID of the
#: entry before it, ``0-0`` for the first) and ``b`` (bytes added to the
#: stream so far, this one included), then drops the oldest entries while the
#: window holds more than ``replay`` events or ``replay_bytes`` bytes (always
#: keeping the newest) or entries older than ``max_age``.  Returns the new ID.
PUBLISH_SCRIPT = """
local key = KEYS[1]
local replay, max_bytes, max_age = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local size = tonumber(ARGV[4])
local function field(entry, name)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
local previous, total = '0-0', size
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
if last then
  previous = last[1]
  total = (tonumber(field(last, 'b')) or 0) + size
end
local fields = {'p', previous, 'b', total, 's', size}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', key, 'MAXLEN', replay, '*', unpack(fields))
local length = redis.call('XLEN', key)
while length > 1 do
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
  local before = (tonumber(field(first, 'b')) or 0) - (tonumber(field(first, 's')) or 0)
  if total - before <= max_bytes then break end
  redis.call('XTRIM', key, 'MAXLEN', length - 1)
  length = length - 1
end
if max_age > 0 then
  local now = redis.call('TIME')
  local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - max_age
  local keep = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1][1]
  local floor = math.min(oldest, tonumber(string.match(keep, '^%d+')))
  redis.call('XTRIM', key, 'MINID', string.format('%.0f', floor))
end
return id
"""

#: Redis runs a cached script by its SHA1, so a publish need not send it.
PUBLISH_SHA = hashlib.sha1(PUBLISH_SCRIPT.encode()).hexdigest()

_ENTRY_ID = re.compile(r"\A([0-9]{1,20})-([0-9]{1,20})\Z")
_MAX_ID_PART = 2**64 - 1

EntryId = Tuple[int, int]


class RedisClient(Protocol):
    """What :class:`RedisBroadcaster` needs of a client: a ``redis.Redis`` fits."""

    def execute_command(self, *args: Any, **options: Any) -> Any: ...


class BroadcastUnavailable(SSEError):
    """Redis did not carry out a command: unreachable, timed out, or refused it.

    Raised by :meth:`RedisBroadcaster.publish` and
    :meth:`RedisBroadcaster.subscribe`; the client's own exception is chained
    as ``__cause__``.  A subscription was not made.  A publish most likely was
    not: but if the connection broke after Redis ran the command and before
    its reply came, the event was published (and is delivered) all the same.
    """


def parse_entry_id(value: str) -> Optional[EntryId]:
    """``"1700000000000-3"`` as ``(1700000000000, 3)``; ``None`` if not a stream entry ID."""
    match = _ENTRY_ID.match(value)
    if match is None:
        return None
    ms, seq = int(match.group(1)), int(match.group(2))
    if ms > _MAX_ID_PART or seq > _MAX_ID_PART:
        return None
    return ms, seq


def _id_text(entry_id: EntryId) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> Dict[str, str]:
    """An entry's fields, whether the client parsed them into a dict or not."""
    if isinstance(raw, dict):
        return {_text(k): _text(v) for k, v in raw.items()}
    items = list(raw)
    return {_text(items[i]): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _event(entry_id: Any, fields: Dict[str, str]) -> Event:
    retry = fields.get("r")
    return Event(
        fields.get("d", ""),
        fields.get("e", "message"),
        _text(entry_id),
        int(retry) if retry is not None and retry.isdigit() else None,
    )


def _records(raw: Any) -> List[Tuple[EntryId, Event, Optional[str]]]:
    """``(ID, event, the ID of the entry before it)`` from an ``XRANGE`` reply
    or one stream of an ``XREAD`` reply (``None`` for an entry without one)."""
    records = []
    for entry_id, raw_fields in raw or ():
        fields = _fields(raw_fields)
        event = _event(entry_id, fields)
        records.append((parse_entry_id(event.id or "") or (0, 0), event, fields.get("p")))
    return records


def _entries(raw: Any) -> List[Tuple[EntryId, Event]]:
    """``(ID, event)`` pairs from an ``XRANGE`` reply or one stream of an ``XREAD`` reply."""
    return [(entry_id, event) for entry_id, event, _ in _records(raw)]


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


class RedisBroadcaster:
    """Publish events to every subscriber on every worker and host, through Redis.

    Args:
        client: a ``redis.Redis`` (redis-py) made by the caller; any client
            with a blocking ``execute_command`` serves.  Give it a
            ``socket_timeout`` longer than ``block``, so that a hung server
            fails commands instead of hanging them.
        prefix: prepended to a topic to name its stream key.
        replay: the replay window in events per topic (at least 1).
        replay_bytes: the window's bound in bytes per topic, as
            :class:`~sse_core.broadcast.Broadcaster` counts them; the newest
            event is kept whatever its size.
        max_age: if set, seconds after which an event leaves the window.
        queue_size, policy, idle_timeout: as :class:`~sse_core.broadcast.Broadcaster`.
        block: seconds one ``XREAD BLOCK`` of the reader waits.

    IDs are stream entry IDs (``"1700000000000-0"``).  Thread-safe.
    :meth:`publish` and :meth:`subscribe` wait for Redis: from a coroutine,
    await :meth:`apublish` and :meth:`asubscribe`.

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        replay: int = DEFAULT_REPLAY,
        replay_bytes: int = DEFAULT_REPLAY_BYTES,
        max_age: Optional[float] = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        policy: str = "disconnect",
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        block: float = DEFAULT_BLOCK,
    ) -> None:
        if replay < 1 or replay_bytes < 1:
            raise ValueError(f"replay and replay_bytes must be >= 1, got {replay}, {replay_bytes}")
        if (max_age is not None and max_age <= 0) or block <= 0:
            raise ValueError("max_age and block must be > 0")
        self._local = LocalHub(
            queue_size=queue_size, policy=policy, idle_timeout=idle_timeout, on_topic=self._on_topic
        )
        self._lock = self._local.lock
        self._client = client
        self._prefix = prefix
        self._limits = (replay, replay_bytes, int(max_age * 1000) if max_age else 0)
        self._block_ms = max(1, int(block * 1000))
        #: The last entry ID the reader delivered, for each topic with local subscribers.
        self._positions: Dict[str, EntryId] = {}
        self._wake_key = f"{prefix}_wake:{uuid.uuid4().hex}"
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._reader: Optional[threading.Thread] = None
        self._healthy = True
        self._last_error: Optional[BaseException] = None

    # --- state -----------------------------------------------------------------------

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
        """The reader's last failure; ``None`` once a later read succeeded."""
        return self._last_error

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions of this process are open, in every topic."""
        return self._local.subscriber_count

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._local.closed

    def _key(self, topic: str) -> str:
        if type(topic) is not str:
            raise TypeError(f"topic must be a str, not {type(topic).__name__}")
        return self._prefix + topic

    def _command(self, *args: Any) -> Any:
        try:
            return self._client.execute_command(*args)
        except Exception as error:
            raise BroadcastUnavailable(f"Redis failed {args[0]}: {error!r}") from error

    # --- publishing ------------------------------------------------------------------

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
        everyone else's.  Waits for one Redis round trip.

        Raises:
            TypeError, LocalProtocolError: as :class:`~sse_core.Event`; a
                ``topic`` that is not a ``str`` raises ``TypeError``.
            RuntimeError: the broadcaster is closed.
            BroadcastUnavailable: Redis did not take the event.
        """
        item = Event(data, event, None, retry)  # validates before anything is sent
        key = self._key(topic)
        if self.closed:
            raise RuntimeError("publish() on a closed broadcaster")
        fields: List[Any] = ["d", data]
        if event != "message":
            fields += ["e", event]
        if retry is not None:
            fields += ["r", retry]
        args = (1, key, *self._limits, event_size(item) + _ID_SIZE, *fields)
        try:
            entry_id = self._client.execute_command("EVALSHA", PUBLISH_SHA, *args)
        except Exception as error:
            # NOSCRIPT, or redis-py's NoScriptError made of it.
            if "NOSCRIPT" not in f"{type(error).__name__} {error}".upper():
                raise BroadcastUnavailable(f"Redis failed EVALSHA: {error!r}") from error
            # Not cached (a new or restarted server): nothing ran; send it whole.
            entry_id = self._command("EVAL", PUBLISH_SCRIPT, *args)
        return Event(data, event, _text(entry_id), retry)

    async def apublish(
        self,
        data: str,
        event: str = "message",
        retry: Optional[int] = None,
        *,
        topic: str = DEFAULT_TOPIC,
    ) -> Event:
        """:meth:`publish` in the loop's default executor: the loop never waits on Redis."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: self.publish(data, event, retry, topic=topic)
        )

    # --- subscribing -----------------------------------------------------------------

    def subscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription:
        """A new subscription to ``topic``, starting with the replay after ``last_event_id``.

        Pass the request's sanitised ``Last-Event-ID``.  An entry ID in the
        window replays what follows it; an entry ID older than the window
        replays the ``GAP_EVENT`` marker (no ID) and then the whole window;
        anything else (empty, malformed, from another deployment) replays
        nothing, unless ``from_start`` asks for the whole window (after the
        marker if the topic's first events left it).  At most ``queue_size``
        items are replayed; a longer replay keeps its newest events, after the
        marker.

        Talks to Redis unless this process already reads the topic and there
        is nothing to replay: from a coroutine, await :meth:`asubscribe`.

        Raises:
            TypeError: ``topic`` is not a ``str``.
            BroadcastUnavailable: Redis could not be read; no subscription was made.
        """
        key = self._key(topic)
        if self.closed:
            return self._local.open(topic)  # ends at once
        self._ensure_reader()
        after = parse_entry_id(last_event_id)
        if after is not None:
            backlog, gap, cursor = self._replay_after(key, after)
        elif from_start:
            backlog, gap, cursor = [], self._lost_first(key), (0, 0)
        else:
            backlog, gap, cursor = [], False, None
        subscription, new_topic = self._open(topic, key, backlog, gap, cursor)
        if new_topic:
            self._wake()
        return subscription

    async def asubscribe(
        self, last_event_id: str = "", *, topic: str = DEFAULT_TOPIC, from_start: bool = False
    ) -> Subscription:
        """:meth:`subscribe` in the loop's default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: self.subscribe(last_event_id, topic=topic, from_start=from_start)
        )

    def _replay_after(
        self, key: str, after: EntryId
    ) -> Tuple[List[Event], bool, Optional[EntryId]]:
        """The first page of the replay after ``after``, whether events were lost
        before it, and the ID it reaches (``None``: start now)."""
        page = _entries(self._command("XRANGE", key, _id_text(after), "+", "COUNT", BATCH + 1))
        if page and page[0][0] == after:
            page = page[1:]
            found = True
        else:
            found = False
        gap = False
        if page and not found:
            # Older than the first entry: a gap, unless that entry was the
            # stream's first ever ("0-0" before it) or came right after ``after``.
            first = self._command("XRANGE", key, "-", "+", "COUNT", 1)
            first_id, previous = self._predecessor(first)
            gap = (
                first_id is not None
                and after < first_id
                and previous not in ("0-0", _id_text(after))
            )
        events = [event for _, event in page]
        if page:
            return events, gap, page[-1][0]
        # Not in the stream and nothing after it: another deployment's ID, or
        # one from the future (Redis lost data); start now.
        return events, gap, after if found else None

    def _lost_first(self, key: str) -> bool:
        """True if the stream's first entry had one before it, which was trimmed."""
        _, previous = self._predecessor(self._command("XRANGE", key, "-", "+", "COUNT", 1))
        return previous not in (None, "0-0")

    @staticmethod
    def _predecessor(reply: Any) -> Tuple[Optional[EntryId], Optional[str]]:
        """The first entry's ID and its ``p`` field (``None`` for no entry, no field)."""
        for entry_id, _, previous in _records(reply)[:1]:
            return entry_id, previous
        return None, None

    def _open(
        self,
        topic: str,
        key: str,
        backlog: List[Event],
        gap: bool,
        cursor: Optional[EntryId],
    ) -> Tuple[Subscription, bool]:
        """Open the subscription where its replay (up to ``cursor``) meets the reader.

        Returns it, and whether its topic is new to this process.  Under the
        lock: with ``cursor`` at the position, it opens; behind it, the replay
        is read on (outside the lock) and the check repeats; ahead of it, the
        events in between are fetched and handed to the topic's subscribers,
        which moves the position up.
        """
        while True:
            with self._lock:
                position = self._positions.get(topic)
                if position is not None and (cursor is None or cursor == position):
                    return self._local.open(topic, backlog, gap=gap), False
            if position is None:
                top = self._top(key)
                with self._lock:
                    if topic not in self._positions and (cursor is None or cursor >= top):
                        self._positions[topic] = cursor or top
                        return self._local.open(topic, backlog, gap=gap), True
                if cursor is None or topic in self._positions:
                    continue
                position = top
            assert cursor is not None
            low, high = min(cursor, position), max(cursor, position)
            fetched = _entries(
                self._command("XRANGE", key, "(" + _id_text(low), _id_text(high), "COUNT", BATCH)
            )
            reached = fetched[-1][0] if fetched else high
            if cursor < position:
                backlog += [event for _, event in fetched]
                cursor = reached
                continue
            with self._lock:
                if self._positions.get(topic) == position:
                    self._positions[topic] = reached
                    self._local.deliver(topic, [event for _, event in fetched])

    def _top(self, key: str) -> EntryId:
        """The ID of the stream's last entry, ``(0, 0)`` for an empty or missing stream."""
        last = _entries(self._command("XREVRANGE", key, "+", "-", "COUNT", 1))
        return last[0][0] if last else (0, 0)

    def _on_topic(self, topic: str, active: bool) -> None:
        # Called by the local hub under its lock.
        if active:
            self._changed.set()
        else:
            self._positions.pop(topic, None)

    def _wake(self) -> None:
        """Interrupt the reader's ``XREAD BLOCK`` so it reads the new key set now."""
        try:
            self._client.execute_command("XADD", self._wake_key, "MAXLEN", 1, "*", "w", 1)
            self._client.execute_command("PEXPIRE", self._wake_key, WAKE_TTL_MS)
        except Exception:
            # The reader is failing too, and reads the new topic once Redis is back.
            logger.debug("sse_core: could not wake the Redis reader", exc_info=True)

    # --- closing ---------------------------------------------------------------------

    def forget(self, topic: str) -> None:
        """Drop ``topic``: delete its stream (its replay window) from Redis and
        end this process's subscriptions to it, after what each has queued.

        Subscriptions to it in other processes stay open and get the events
        published to it afterwards, and so does a subscriber resuming after an
        ID of the deleted stream (entry IDs keep growing).

        Raises:
            TypeError: ``topic`` is not a ``str``.
            BroadcastUnavailable: Redis did not delete the stream (this
                process's subscriptions are left open).
        """
        self._command("DEL", self._key(topic))
        self._local.end(topic)

    def close(self) -> None:
        """End every subscription (after what each has queued), stop the reader,
        and refuse new publishes.  New subscriptions end at once.  Idempotent."""
        self._local.close()
        self._stop.set()
        self._changed.set()
        reader = self._reader
        if reader is not None and reader.is_alive():
            self._wake()
            reader.join(self._block_ms / 1000 + 5)
        try:
            self._client.execute_command("DEL", self._wake_key)
        except Exception:
            logger.debug("sse_core: could not delete the wake-up stream", exc_info=True)

    # --- the reader ------------------------------------------------------------------

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
                    positions = {self._prefix + t: _id_text(p) for t, p in self._positions.items()}
                if not positions:
                    self._changed.wait(self._block_ms / 1000)
                    continue
                try:
                    reply = self._client.execute_command(
                        "XREAD", "COUNT", BATCH, "BLOCK", self._block_ms, "STREAMS",
                        *positions, self._wake_key, *positions.values(), wake_position,
                    )  # fmt: skip
                    wake_position = self._deliver(reply, wake_position)
                except Exception as error:
                    self._failed(error)
                    self._stop.wait(delay)
                    delay = min(delay * 2, BACKOFF[1])
                    continue
                if not self._healthy:
                    logger.warning("sse_core: the Redis reader is reading again")
                # last_error first: whoever sees healthy sees it cleared.
                self._last_error, self._healthy, delay = None, True, BACKOFF[0]
        except BaseException:
            # Not re-raised: the thread ends here, said so, and the next call
            # to the hub starts another (_ensure_reader).
            logger.exception("sse_core: the Redis reader thread failed")
        finally:
            self._healthy = self._stop.is_set()

    def _failed(self, error: BaseException) -> None:
        if self._healthy:
            logger.error("sse_core: the Redis reader failed; retrying", exc_info=error)
        self._last_error, self._healthy = error, False

    def _deliver(self, reply: Any, wake_position: str) -> str:
        """Hand each topic's new entries to its local subscribers; returns the
        wake-up stream's new position."""
        for key, raw in _streams(reply):
            if key == self._wake_key:
                entries = _entries(raw)
                wake_position = _id_text(entries[-1][0]) if entries else wake_position
                continue
            topic = key[len(self._prefix) :]
            with self._lock:
                position = self._positions.get(topic)
                if position is None:
                    continue
                fresh = [record for record in _records(raw) if record[0] > position]
                if not fresh:
                    continue
                self._positions[topic] = fresh[-1][0]
                events = [event for _, event, _ in fresh]
                # Each entry names the one before it: if that is not where the
                # reader was, the entries in between were trimmed before it
                # read them (it lagged more than the window), and the
                # subscribers are told, as a resuming client is.
                if fresh[0][2] not in (None, "0-0", _id_text(position)):
                    events.insert(0, GAP)
                self._local.deliver(topic, events)
        return wake_position
