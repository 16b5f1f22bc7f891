# SPDX-License-Identifier: MIT
"""sse_core: a sans-IO Server-Sent Events (``text/event-stream``) library.

The core needs nothing but the standard library and does no I/O: feed bytes to
a :class:`Decoder` and get :class:`Event` objects back; give events to
:func:`encode` and get bytes back.  Adapters for asyncio and WSGI live in their
own modules and are imported only when asked for.
"""

from ._client_response import MalformedResponseError
from ._decoder import DEFAULT_MAX_EVENT_SIZE, Decoder, TextDecoder
from ._encoder import encode, encode_batch, encode_comment
from ._errors import LocalProtocolError, RemoteProtocolError, SSEError
from ._events import MAX_RETRY, Event
from ._reconnect import (
    Answer,
    Connect,
    EventSourceError,
    EventSourceState,
    Open,
    ReadyState,
    ReconnectLimitError,
    ReconnectPolicy,
    ResponseError,
    Resume,
    Stop,
    Wait,
)
from ._version import __version__

__all__ = (
    "DEFAULT_MAX_EVENT_SIZE",
    "Answer",
    "Connect",
    "Decoder",
    "Event",
    "EventSourceError",
    "EventSourceState",
    "LocalProtocolError",
    "MAX_RETRY",
    "MalformedResponseError",
    "Open",
    "ReadyState",
    "ReconnectLimitError",
    "ReconnectPolicy",
    "RemoteProtocolError",
    "ResponseError",
    "Resume",
    "SSEError",
    "Stop",
    "TextDecoder",
    "Wait",
    "__version__",
    "encode",
    "encode_batch",
    "encode_comment",
)
