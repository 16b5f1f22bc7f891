# SPDX-License-Identifier: MIT
"""ASGI and WSGI apps on one RedisBroadcaster per worker process, for the scale-out tests.

Servers import these by name (``_redis_apps:asgi_app``, ``_redis_apps:wsgi_app``)
in worker processes; each worker makes its hub at its first request, after the
fork.  ``SSE_REDIS_URL`` and ``SSE_REDIS_PREFIX`` say where the streams are.
``GET /events?topic=NAME`` streams a topic, resuming after ``Last-Event-ID``.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, Iterable, Optional
from urllib.parse import parse_qs

from sse_core import asgi, wsgi
from sse_core.broadcast import RedisBroadcaster

_hub: Optional[RedisBroadcaster] = None
_lock = threading.Lock()


def hub() -> RedisBroadcaster:
    """This worker's broadcaster, made on first use."""
    global _hub
    with _lock:
        if _hub is None:
            import redis

            client = redis.Redis.from_url(
                os.environ["SSE_REDIS_URL"], socket_timeout=5, socket_connect_timeout=2
            )
            _hub = RedisBroadcaster(client, prefix=os.environ["SSE_REDIS_PREFIX"])
        return _hub


def _topic(query: str) -> str:
    return parse_qs(query).get("topic", ["default"])[0]


async def asgi_app(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                if _hub is not None:
                    _hub.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    topic = _topic(scope["query_string"].decode())
    subscription = await hub().asubscribe(asgi.last_event_id(scope), topic=topic)
    await asgi.EventStreamResponse(subscription, heartbeat=1.0)(scope, receive, send)


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    topic = _topic(environ.get("QUERY_STRING", ""))
    subscription = hub().subscribe(wsgi.last_event_id(environ), topic=topic)
    return wsgi.EventStreamResponse(subscription, heartbeat=1.0)(environ, start_response)


def publish_main() -> None:
    """``python -m _redis_apps URL PREFIX COUNT RATE OUT``: publish ``COUNT``
    events to each of topics t0, t1, t2, ``RATE`` a second in all, then write
    their IDs to ``OUT``, one ``topic id`` line each, and a ``refused N`` line:
    a publish refused while Redis is down is counted, and tried again.  (A
    refused publish may still have reached Redis, if the connection broke
    between the write and the reply.)  Each topic's last event says ``last``."""
    import sys
    import time

    import redis

    from sse_core.broadcast import BroadcastUnavailable

    url, prefix, count, rate, out = sys.argv[1:6]
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=1)
    publisher = RedisBroadcaster(client, prefix=prefix)
    lines = []
    refused = 0
    start = time.monotonic()
    n = 0
    while n < int(count) * 3:
        topic = f"t{n % 3}"
        try:
            last = n // 3 == int(count) - 1
            event = publisher.publish(f"{topic} {'last' if last else n // 3}", topic=topic)
        except BroadcastUnavailable:
            refused += 1
            time.sleep(0.05)
            continue
        lines.append(f"{topic} {event.id}\n")
        n += 1
        delay = start + n / float(rate) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    with open(out, "w") as file:
        file.writelines([*lines, f"refused {refused}\n"])
    publisher.close()


if __name__ == "__main__":
    publish_main()
