# SPDX-License-Identifier: MIT
"""A Flask app that publishes to every connected client, with replay on reconnect.

Run it (``pip install flask``)::

    python examples/flask_app.py            # serves http://127.0.0.1:8000/
    python -m sse_core get http://127.0.0.1:8000/events
    curl -X POST -d 'hello' http://127.0.0.1:8000/publish

``--self-test`` serves on a free port, subscribes with requests and
``sse_core.client.iter_events``, publishes, and checks what arrives.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, List

import requests
from flask import Flask, request
from werkzeug.serving import make_server

from sse_core.broadcast import Broadcaster
from sse_core.client import iter_events
from sse_core.wsgi import EventStreamResponse, last_event_id

app = Flask(__name__)
hub = Broadcaster(replay=100)


@app.get("/events")
def events() -> Any:
    return EventStreamResponse(hub.subscribe(last_event_id(request.environ)))


@app.post("/publish")
def publish() -> Any:
    event = hub.publish(request.get_data(as_text=True))
    return {"id": event.id}


def self_test() -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    requests.post(f"{base}/publish", data="before", timeout=10).raise_for_status()
    headers = {"Accept": "text/event-stream", "Last-Event-ID": "0"}  # replay from the start
    received: List[str] = []
    with requests.get(f"{base}/events", stream=True, headers=headers, timeout=10) as response:
        response.raise_for_status()
        for event in iter_events(response.iter_content(chunk_size=None)):
            received.append(event.data)
            if len(received) == 1:
                requests.post(f"{base}/publish", data="after", timeout=10).raise_for_status()
            if len(received) == 2:
                break
    assert received == ["before", "after"], received
    hub.close()
    server.shutdown()
    thread.join(10)
    print("self-test passed")


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        self_test()
    else:
        app.run(host="127.0.0.1", port=8000, threaded=True)
