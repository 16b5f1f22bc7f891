# SPDX-License-Identifier: MIT
"""The EventSource reconnection state machine, with no I/O.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface

:class:`EventSourceState` owns everything an EventSource remembers between
connections (ready state, last event ID, reconnection time, the failure
streak for backoff) and nothing else.  A driver (the sync client in
``client.py``, the asyncio one in ``async_client.py``, or yours) does the I/O
and tells the machine what happened; the machine answers with what to do next:

* :class:`Connect`: send this request (method, URL, headers, body);
* :class:`Open`: the response is a good event stream, read its body and pass
  the bytes to :meth:`EventSourceState.receive_data`, which returns events;
* :class:`Wait`: close the connection, sleep ``delay`` seconds, then call
  :meth:`EventSourceState.delay_elapsed`;
* :class:`Stop`: close the connection; raise ``error`` if it is not None.

Theory of operation
-------------------
Every public method first turns its arguments into one :class:`Input` (a
response becomes ``RESPONSE_OK``, ``RESPONSE_REDIRECT``, ``RESPONSE_RETRY`` or
``RESPONSE_FAIL``; a failure the policy will not retry becomes ``GIVE_UP``),
then looks ``(state, input)`` up in :data:`TRANSITIONS`.  Two rules:

* Rule 1: the table is the whole truth about which input is legal where and
  which state follows; methods only compute outputs.
* Rule 2: a pair missing from the table is a driver bug.  The machine moves to
  ``CLOSED`` (it cannot know what the driver did) and raises
  :class:`LocalProtocolError`, as h2's state machine does.

What the spec says, and where we choose
---------------------------------------
* "If res's status is not 200, or if res's Content-Type is not
  text/event-stream, then fail the connection": for good, ready state CLOSED.
  So does a body in a transfer or content coding the clients cannot undo
  (anything but chunked, gzip and deflate): the server would send the same.
  A 204 is how a server says "stop reconnecting", so it stops *without* an
  error.  Production clients often retry 5xx answers: opt in with
  ``ReconnectPolicy(retry_server_errors=True)``.
* Redirects are followed, as fetch does (at most 20 per connection attempt;
  303, and 301/302 after a POST, turn the request into a GET without body;
  ``Authorization`` and ``Cookie`` are dropped when the origin changes).
  Reconnections start again from the original URL, as a browser's do.
* A network error, or the end of the body, "reestablishes the connection"
  after the reconnection time, with ``Last-Event-ID`` if the last event ID
  string is not empty.  An incomplete event at the cut is discarded.
* "User agents may wait longer" when earlier attempts failed: the first
  reconnection of a failure streak waits the reconnection time (a server
  may ask for a quick one with ``retry: 0``); each later one waits at least
  ``min_delay`` (so ``retry: 0`` cannot turn backoff off), multiplied by
  ``multiplier`` per reconnection in a row without an event in between, up
  to ``max_delay`` (never below the server's ``retry``), and adds up to
  ``jitter`` times the delay at random so that clients of a restarted
  server do not all come back at once.  ``max_attempts`` and
  ``max_elapsed`` bound a failure streak; a received event ends the streak.
  With ``max_attempts=0`` (no reconnection) a clean end of the body is a
  normal end, not a failure.
* An event larger than the decoder's ``max_event_size`` (a limit browsers do
  not have) fails the connection for good: the server would resend it.
* A reconnection repeats the first request (as a browser's does) unless a
  :class:`Resume` names another: a protocol such as MCP's Streamable HTTP
  resumes a POST's stream with a GET, and the POST must never run twice.
* A 2xx answer that is not an event stream fails the connection, as in a
  browser, unless the driver accepts whole answers (``max_answer_size``):
  it is then an :class:`Answer` (MCP answers notifications with 202).
* A server's ``retry`` (and a 5xx's ``Retry-After``) counts as at most
  :data:`MAX_RECONNECTION_TIME` (24 hours); the spec sets no bound.  A
  redirect whose ``Location`` is not a usable http(s) URL fails the
  connection, as a non-HTTP(S) one does.
"""

from __future__ import annotations

import contextlib
import enum
import math
import random as _random
import time
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

from ._client_http import (
    Headers,
    HeadersInput,
    get_header,
    is_event_stream,
    is_token,
    normalise_headers,
    parse_retry_after,
    request_headers,
    split_url,
)
from ._client_response import unsupported_coding
from ._decoder import DEFAULT_MAX_EVENT_SIZE, Decoder
from ._errors import LocalProtocolError, RemoteProtocolError, SSEError
from ._events import Event

__all__ = (
    "TRANSITIONS",
    "Answer",
    "answer_broken",
    "read_answer",
    "Connect",
    "EventSourceError",
    "EventSourceState",
    "Input",
    "Open",
    "ReadyState",
    "ReconnectLimitError",
    "ReconnectPolicy",
    "ResponseError",
    "Resume",
    "State",
    "Stop",
    "Wait",
    "classify_response",
)

#: Redirects followed within one connection attempt, as fetch allows.
MAX_REDIRECTS = 20

#: The default floor, in seconds, of the second and later reconnection delays
#: of a failure streak.  A server may ask for a quick first reconnection with
#: ``retry: 0``, but 0 times any backoff factor is still 0: without a floor,
#: a client of a down server that asked for it would retry in a tight loop.
#: A tenth of a second doubles to seconds within five failures.
DEFAULT_MIN_DELAY = 0.1

#: The longest reconnection time, in seconds, a server can ask for with
#: ``retry`` (or ``Retry-After``): 24 hours.  The spec sets no bound, but a
#: ``retry`` of 10**30 ms would have a client sleep for ever (and overflow the
#: timeouts of ``threading`` and ``asyncio``); a day is longer than any
#: maintenance window a real server announces.
MAX_RECONNECTION_TIME = 24 * 60 * 60.0

_MAX_RETRY_MS = int(MAX_RECONNECTION_TIME * 1000)
_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
# Headers that must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = frozenset(("authorization", "cookie", "proxy-authorization"))


class ReadyState(enum.IntEnum):
    """The ``readyState`` values of a browser's EventSource."""

    CONNECTING = 0
    OPEN = 1
    CLOSED = 2


class State(enum.Enum):
    """The machine's own states; :attr:`EventSourceState.ready_state` maps them."""

    IDLE = "IDLE"  # built; no request sent yet
    CONNECTING = "CONNECTING"  # a request is out; waiting for its response
    OPEN = "OPEN"  # reading an event stream
    WAITING = "WAITING"  # waiting the reconnection delay
    CLOSED = "CLOSED"  # terminal

    def __repr__(self) -> str:
        return f"State.{self.name}"


class Input(enum.Enum):
    """What can happen to the machine, after classification."""

    CONNECT = "CONNECT"  # the user started the EventSource
    RESPONSE_OK = "RESPONSE_OK"  # 200 with text/event-stream
    RESPONSE_REDIRECT = "RESPONSE_REDIRECT"  # 3xx with a Location to follow
    RESPONSE_RETRY = "RESPONSE_RETRY"  # 5xx and the policy retries them
    RESPONSE_FAIL = "RESPONSE_FAIL"  # anything else: fail the connection
    RESPONSE_ANSWER = "RESPONSE_ANSWER"  # a 2xx that is not a stream, and answers are accepted
    DATA = "DATA"  # bytes of the event stream
    PROTOCOL_ERROR = "PROTOCOL_ERROR"  # the stream broke the decoder's limit
    END = "END"  # the body ended cleanly
    NETWORK_ERROR = "NETWORK_ERROR"  # connect, TLS, read or timeout error
    GIVE_UP = "GIVE_UP"  # a failure the policy will not retry any more
    DELAY_ELAPSED = "DELAY_ELAPSED"  # the reconnection delay is over
    CLOSE = "CLOSE"  # the user closed the EventSource

    def __repr__(self) -> str:
        return f"Input.{self.name}"


#: The whole state machine: ``(state, input) -> next state``.
TRANSITIONS: Dict[Tuple[State, Input], State] = {
    (State.IDLE, Input.CONNECT): State.CONNECTING,
    (State.IDLE, Input.CLOSE): State.CLOSED,
    (State.CONNECTING, Input.RESPONSE_OK): State.OPEN,  # "announce the connection"
    (State.CONNECTING, Input.RESPONSE_REDIRECT): State.CONNECTING,
    (State.CONNECTING, Input.RESPONSE_RETRY): State.WAITING,
    (State.CONNECTING, Input.RESPONSE_FAIL): State.CLOSED,  # "fail the connection"
    (State.CONNECTING, Input.RESPONSE_ANSWER): State.CLOSED,  # the whole answer is the body
    (State.CONNECTING, Input.NETWORK_ERROR): State.WAITING,  # "reestablish the connection"
    (State.CONNECTING, Input.GIVE_UP): State.CLOSED,
    (State.CONNECTING, Input.CLOSE): State.CLOSED,
    (State.OPEN, Input.DATA): State.OPEN,
    (State.OPEN, Input.PROTOCOL_ERROR): State.CLOSED,
    (State.OPEN, Input.END): State.WAITING,  # "reestablish the connection"
    (State.OPEN, Input.NETWORK_ERROR): State.WAITING,
    (State.OPEN, Input.GIVE_UP): State.CLOSED,
    (State.OPEN, Input.CLOSE): State.CLOSED,
    (State.WAITING, Input.DELAY_ELAPSED): State.CONNECTING,
    (State.WAITING, Input.CLOSE): State.CLOSED,
    (State.CLOSED, Input.CLOSE): State.CLOSED,  # close() twice is harmless
}

_READY_STATES = {
    State.IDLE: ReadyState.CONNECTING,
    State.CONNECTING: ReadyState.CONNECTING,
    State.OPEN: ReadyState.OPEN,
    State.WAITING: ReadyState.CONNECTING,
    State.CLOSED: ReadyState.CLOSED,
}


# -- errors ------------------------------------------------------------------


class EventSourceError(SSEError):
    """An EventSource stopped for good because of the server or the network."""


class ResponseError(EventSourceError):
    """The server's answer failed the connection (wrong status or content type).

    Attributes:
        status: the HTTP status code.
        content_type: the Content-Type header, or None.
        url: the URL that answered.
        body: the start of the response body, when the client read it (the
            server's explanation, such as a JSON error), else None.
    """

    body: Optional[bytes] = None

    def __init__(self, message: str, *, status: int, content_type: Optional[str], url: str):
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.url = url


class ReconnectLimitError(EventSourceError):
    """The policy's ``max_attempts`` or ``max_elapsed`` ran out.

    The failure that ended the streak is the ``__cause__`` (None after a clean
    end of stream).

    Attributes:
        attempts: reconnections tried in the failure streak.
    """

    def __init__(self, message: str, *, attempts: int):
        super().__init__(message)
        self.attempts = attempts


# -- actions -------------------------------------------------------------------


class Connect(NamedTuple):
    """Send this request and report its response (or a network error)."""

    method: str
    url: str
    headers: Headers
    body: Optional[bytes]


class Open(NamedTuple):
    """The response is an event stream: read its body into ``receive_data``."""

    status: int
    headers: Headers


class Wait(NamedTuple):
    """Close the connection, wait ``delay`` seconds, then call ``delay_elapsed``.

    ``error`` is the failure that caused the wait (None after a clean end).
    """

    delay: float
    error: Optional[BaseException]


class Stop(NamedTuple):
    """Close the connection for good; raise ``error`` unless it is None.

    ``error`` is None after :meth:`EventSourceState.close` and after a 204.
    ``status`` is the status of the last response, if there was one.
    """

    status: Optional[int]
    error: Optional[EventSourceError]


class Answer(NamedTuple):
    """A whole answer that is not an event stream: read its body, then stop.

    Only returned when the machine accepts answers (``max_answer_size``): a
    2xx other than 204 whose Content-Type is not ``text/event-stream``, such
    as an MCP server's ``202 Accepted`` or ``application/json`` reply.  The
    machine is CLOSED.  A driver reads at most ``max_answer_size`` bytes of
    the body and fills in ``body`` (``_replace``); a longer body is a
    :class:`ResponseError`.
    """

    status: int
    headers: Headers
    body: bytes = b""


#: Methods a reconnection may send again unasked.  Any other (a POST that
#: started a generation or a tool call) is sent once, unless a :class:`Resume`
#: says what to send instead, itself included.
_SAFE_METHODS = frozenset(("GET", "HEAD"))


class Resume(NamedTuple):
    """The request a reconnection sends instead of repeating the first one.

    Without one, a first request whose method is not ``GET`` or ``HEAD`` is
    never sent again: a broken stream then ends the iteration (with
    :class:`ReconnectLimitError`, or quietly when the body simply ended).  To
    re-send a POST on purpose, pass ``Resume(method="POST", body=...)``.

    ``Last-Event-ID`` is added as for any reconnection.  For MCP's Streamable
    HTTP transport: ``Resume(headers={"Mcp-Session-Id": session})`` after a
    POST's stream broke, a ``GET`` of the same URL.

    Attributes:
        method: the method (default ``GET``).
        headers: its headers (a mapping or pairs; the first request's are not
            carried over).
        url: its URL; None is the first request's.
        body: its body, or None.
    """

    method: str = "GET"
    headers: HeadersInput = None
    url: Optional[str] = None
    body: Optional[bytes] = None


Action = Union[Connect, Open, Wait, Stop, Answer]


def read_answer(answer: Answer, body: bytes, url: str, limit: int) -> Tuple[Optional[Answer], Stop]:
    """``answer`` with the ``body`` a client read (at most ``limit + 1`` bytes),
    and the :class:`Stop` that ends the iteration: an error past ``limit``."""
    answer = answer._replace(body=body)
    if len(body) <= limit:
        return answer, Stop(answer.status, None)
    error = _answer_error(answer, url, f"with a body over max_answer_size ({limit} bytes)")
    error.body = body[:limit]
    return None, Stop(answer.status, error)


def answer_broken(answer: Answer, url: str, error: BaseException) -> ResponseError:
    """The error for an answer whose body broke off: it cannot be asked for again."""
    return _answer_error(answer, url, f"then the body broke: {error!r}")


def _answer_error(answer: Answer, url: str, problem: str) -> ResponseError:
    return ResponseError(
        f"{url} answered {answer.status}, {problem}",
        status=answer.status,
        content_type=get_header(answer.headers, "content-type"),
        url=url,
    )


# -- policy ----------------------------------------------------------------------


class ReconnectPolicy:
    """How long to wait before reconnecting, and when to give up.

    Args:
        initial_delay: the reconnection time, in seconds, until the server
            sends ``retry`` (the spec leaves it to the client; browsers use
            3 to 5 seconds).
        multiplier: backoff factor per reconnection in a row without an event.
        max_delay: cap on the backed-off delay, in seconds, before jitter.  A
            server ``retry`` above it wins.
        min_delay: floor, in seconds, of the delay before the second and
            later reconnections of a failure streak, whatever the server's
            ``retry`` (the first one waits the reconnection time).
        jitter: up to this fraction of the delay is added at random.
        max_attempts: reconnections allowed in a failure streak (None: no
            limit; 0: never reconnect, and then a clean end of the body
            stops without an error while a network error still raises).
        max_elapsed: seconds a failure streak may last (None: no limit).
        retry_server_errors: treat a 5xx answer as a network error (retried,
            honouring ``Retry-After`` in seconds) instead of failing for good.
        random: returns a float in [0, 1); inject a seeded one in tests.
        clock: monotonic seconds; inject one in tests.

    Raises:
        ValueError: a negative number, a multiplier below 1 or a jitter above 1.
    """

    __slots__ = (
        "clock",
        "initial_delay",
        "jitter",
        "max_attempts",
        "max_delay",
        "max_elapsed",
        "min_delay",
        "multiplier",
        "random",
        "retry_server_errors",
    )

    def __init__(
        self,
        *,
        initial_delay: float = 3.0,
        multiplier: float = 2.0,
        max_delay: float = 30.0,
        min_delay: float = DEFAULT_MIN_DELAY,
        jitter: float = 0.5,
        max_attempts: Optional[int] = None,
        max_elapsed: Optional[float] = None,
        retry_server_errors: bool = False,
        random: Optional[Callable[[], float]] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        if initial_delay < 0 or max_delay < 0 or min_delay < 0:
            raise ValueError("delays must be >= 0")
        if multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if max_attempts is not None and max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")
        if max_elapsed is not None and max_elapsed < 0:
            raise ValueError("max_elapsed must be >= 0 or None")
        self.initial_delay = float(initial_delay)
        self.multiplier = float(multiplier)
        self.max_delay = float(max_delay)
        self.min_delay = float(min_delay)
        self.jitter = float(jitter)
        self.max_attempts = max_attempts
        self.max_elapsed = max_elapsed
        self.retry_server_errors = retry_server_errors
        self.random: Callable[[], float] = random or _random.random
        self.clock: Callable[[], float] = clock or time.monotonic

    def __repr__(self) -> str:
        return (
            f"ReconnectPolicy(initial_delay={self.initial_delay},"
            f" multiplier={self.multiplier}, max_delay={self.max_delay},"
            f" min_delay={self.min_delay},"
            f" jitter={self.jitter}, max_attempts={self.max_attempts},"
            f" max_elapsed={self.max_elapsed},"
            f" retry_server_errors={self.retry_server_errors})"
        )

    def delay(self, reconnection_time: float, attempt: int) -> float:
        """Seconds to wait before reconnection number ``attempt`` (0-based) of a streak.

        The first waits ``reconnection_time``; later ones wait
        ``max(reconnection_time, min_delay) * multiplier ** attempt``, capped
        at ``max(max_delay, reconnection_time)``.  Jitter is added to both.
        """
        cap = max(self.max_delay, reconnection_time)
        if attempt == 0:
            delay = reconnection_time
        else:
            base = max(reconnection_time, self.min_delay)
            delay = min(cap, base)
            # The power is computed only below the cap, so it cannot overflow
            # however long the streak: past the cap, the cap applies.
            if self.multiplier > 1 and 0 < base < cap:
                steps_to_cap = math.log(cap / base, self.multiplier)
                delay = cap if attempt >= steps_to_cap else base * self.multiplier**attempt
        return min(cap, delay) * (1.0 + self.jitter * self.random())


def _check_request(url: str, method: str, body: Optional[bytes]) -> None:
    """Raise unless ``url``, ``method`` and ``body`` make a request that can be sent."""
    split_url(url)  # raises ValueError unless it is an http(s) URL
    if not is_token(method):
        raise ValueError(f"invalid method {method!r:.40}")
    if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes or None, not {type(body).__name__}")


def classify_response(
    status: int,
    headers: Headers,
    *,
    retry_server_errors: bool,
    redirects: int = 0,
    accept_answers: bool = False,
) -> Input:
    """The :class:`Input` a response is, by the spec's rules and the policy."""
    stream = is_event_stream(get_header(headers, "content-type"))
    answer = accept_answers and 200 <= status <= 299 and status != 204 and not stream
    if (status == 200 and stream) or answer:
        # A body the client cannot decode would be read as no events at all,
        # or as a garbled answer.
        if unsupported_coding(headers):
            return Input.RESPONSE_FAIL
        return Input.RESPONSE_ANSWER if answer else Input.RESPONSE_OK
    location = get_header(headers, "location")
    if (
        status in _REDIRECT_STATUSES
        and location
        and redirects < MAX_REDIRECTS
        # fetch fails a redirect to anything but HTTP(S)
        and _location_scheme(location) in ("", "http", "https")
    ):
        return Input.RESPONSE_REDIRECT
    if retry_server_errors and 500 <= status <= 599:
        return Input.RESPONSE_RETRY
    return Input.RESPONSE_FAIL


def _location_scheme(location: str) -> Optional[str]:
    """The scheme of a ``Location`` value ("" if relative); None if it does not parse."""
    try:
        return urlsplit(location).scheme.lower()
    except ValueError:  # a broken IPv6 literal
        return None


def _followable(base: str, location: str) -> bool:
    """True if ``location``, resolved against ``base``, is an http(s) URL to request."""
    try:
        split_url(urljoin(base, location))
    except ValueError:  # no host, a port out of range, a broken IPv6 literal
        return False
    return True


def _origin(url: str) -> Tuple[str, Optional[str], Optional[int]]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port


# -- the machine -------------------------------------------------------------------


class EventSourceState:
    """The state of one EventSource across all its connections.

    Args:
        url: the ``http`` or ``https`` URL of the stream.
        method: the request method; reconnections resend the same request
            unless ``resume`` is given, so a POST body is sent again (pass
            ``resume``, or ``max_attempts=0`` to forbid reconnection).
        headers: extra request headers (a mapping or ``(name, value)`` pairs).
        body: the request body, or None.
        last_event_id: a last event ID to resume from on the first request.
        policy: a :class:`ReconnectPolicy` (default: ``ReconnectPolicy()``).
        max_event_size: passed to each connection's :class:`Decoder`.
        resume: a :class:`Resume`: the request every reconnection sends
            instead of the first one (the first is then sent once).  Without
            it, a first request other than ``GET`` or ``HEAD`` is never sent
            again: the stream's end or break ends the iteration.
        max_answer_size: accept a 2xx answer that is not an event stream
            (other than 204) as an :class:`Answer` whose body has at most this
            many bytes, instead of failing with :class:`ResponseError`.  None
            (the default) accepts none, as a browser.

    Raises:
        ValueError: ``url`` is not an http(s) URL, ``method`` or a header
            name is not an HTTP token, or a header value or
            ``last_event_id`` holds CR, LF or NUL.
        TypeError: ``body`` is not bytes, or a header name or value not str.
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: HeadersInput = None,
        body: Optional[bytes] = None,
        last_event_id: str = "",
        policy: Optional[ReconnectPolicy] = None,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
        resume: Optional[Resume] = None,
        max_answer_size: Optional[int] = None,
    ) -> None:
        if any(c in last_event_id for c in "\r\n\0"):
            raise ValueError("last_event_id must not contain CR, LF or NUL")
        if max_answer_size is not None and max_answer_size < 0:
            raise ValueError("max_answer_size must be >= 0 or None")
        _check_request(url, method, body)
        self.resume: Optional[Connect] = None
        if resume is not None:
            resume_url = url if resume.url is None else resume.url
            _check_request(resume_url, resume.method, resume.body)
            self.resume = Connect(
                resume.method.upper(), resume_url, normalise_headers(resume.headers), resume.body
            )
        self.max_answer_size = max_answer_size
        self.url = url
        self.method = method.upper()
        self.headers = normalise_headers(headers)
        self.body = body
        self.policy = policy if policy is not None else ReconnectPolicy()
        self.max_event_size = max_event_size
        self._state = State.IDLE
        self._last_event_id = last_event_id
        self._reconnection_time = self.policy.initial_delay
        self._decoder: Optional[Decoder] = None
        self._status: Optional[int] = None
        self._response_headers: Optional[Headers] = None
        self._attempts = 0  # reconnections in the current failure streak
        self._streak_start: Optional[float] = None
        # The request of the current attempt; redirects change it.
        self._redirects = 0
        self._request: Connect = Connect(self.method, url, self.headers, body)
        self.last_input: Optional[Input] = None

    # -- read-only views ------------------------------------------------------------

    @property
    def state(self) -> State:
        """The machine's state (finer than :attr:`ready_state`)."""
        return self._state

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as a browser's ``readyState``."""
        return _READY_STATES[self._state]

    @property
    def last_event_id(self) -> str:
        """The last event ID string, sent as ``Last-Event-ID`` on reconnection."""
        return self._last_event_id

    @property
    def reconnection_time(self) -> float:
        """The reconnection time in seconds (the server's ``retry``, else the policy's)."""
        return self._reconnection_time

    @property
    def status(self) -> Optional[int]:
        """The status code of the last response, or None."""
        return self._status

    @property
    def response_headers(self) -> Optional[Headers]:
        """The headers of the last response, as ``(name, value)`` pairs, or None."""
        return self._response_headers

    @property
    def attempts(self) -> int:
        """Reconnections since the last received event (the failure streak)."""
        return self._attempts

    # -- the table --------------------------------------------------------------------

    def _process(self, event: Input) -> State:
        """Apply ``event`` by the table; on a missing entry, close and raise."""
        self.last_input = event
        try:
            new_state = TRANSITIONS[(self._state, event)]
        except KeyError:
            old_state = self._state
            self._enter_closed()
            raise LocalProtocolError(
                f"cannot handle {event.name} in state {old_state.name};"
                " the EventSource is now CLOSED"
            ) from None
        if new_state is State.CLOSED:
            self._enter_closed()
        self._state = new_state
        return new_state

    def _enter_closed(self) -> None:
        self._state = State.CLOSED
        decoder, self._decoder = self._decoder, None
        if decoder is not None and not decoder.closed:
            with contextlib.suppress(RemoteProtocolError):
                decoder.close()

    # -- inputs ---------------------------------------------------------------------------

    def connect(self) -> Connect:
        """Start: returns the first request to send.

        Raises:
            LocalProtocolError: not in state IDLE (the machine is then CLOSED).
        """
        self._process(Input.CONNECT)
        return self._first_request()

    def receive_response(self, status: int, headers: HeadersInput) -> Action:
        """Report the status and headers of the response to the last request.

        ``headers`` is a mapping or ``(name, value)`` pairs of str; names
        match case-insensitively.

        Returns:
            :class:`Open` (read the body), :class:`Connect` (a redirect),
            :class:`Wait` (a retried 5xx), :class:`Answer` (a whole answer,
            only with ``max_answer_size``) or :class:`Stop`.

        Raises:
            LocalProtocolError: no request was outstanding (now CLOSED).
        """
        if headers is None:
            pairs: Headers = []
        elif isinstance(headers, Mapping):
            pairs = list(headers.items())
        else:
            pairs = list(headers)
        event = classify_response(
            status,
            pairs,
            retry_server_errors=self.policy.retry_server_errors,
            redirects=self._redirects,
            accept_answers=self.max_answer_size is not None,
        )
        location = get_header(pairs, "location") or ""
        if event is Input.RESPONSE_REDIRECT and not _followable(self._request.url, location):
            event = Input.RESPONSE_FAIL
        if event is not Input.RESPONSE_RETRY:
            self._process(event)  # raises when no request was outstanding
        self._status = status
        self._response_headers = pairs
        content_type = get_header(pairs, "content-type")
        if event is Input.RESPONSE_ANSWER:
            return Answer(status, pairs)
        if event is Input.RESPONSE_OK:
            self._decoder = Decoder(
                max_event_size=self.max_event_size, last_event_id=self._last_event_id
            )
            return Open(status, pairs)
        if event is Input.RESPONSE_REDIRECT:
            return self._redirect(status, location)
        if status in _REDIRECT_STATUSES and self._redirects >= MAX_REDIRECTS:
            problem = f"too many redirects (more than {MAX_REDIRECTS} in a row)"
        elif status in _REDIRECT_STATUSES:
            problem = f"a redirect without a usable http(s) Location: {location!r:.200}"
        elif status == 200 and is_event_stream(content_type):
            problem = f"cannot decode its {unsupported_coding(pairs)} (gzip and deflate are read)"
        else:
            problem = "expected 200 with Content-Type: text/event-stream"
        got = "no Content-Type" if content_type is None else f"Content-Type: {content_type!r:.100}"
        error = ResponseError(
            f"{self._request.url} answered {status} ({got}): {problem}",
            status=status,
            content_type=content_type,
            url=self._request.url,
        )
        if event is Input.RESPONSE_FAIL:
            if status == 204:
                # "Clients will reconnect if the connection is closed; a client
                # can be told to stop reconnecting using the HTTP 204 No
                # Content response code."
                return Stop(status, None)
            return Stop(status, error)
        retry_after = parse_retry_after(get_header(pairs, "retry-after"))
        if retry_after is not None:
            retry_after = min(retry_after, MAX_RECONNECTION_TIME)
        return self._reconnect_or_give_up(Input.RESPONSE_RETRY, error, retry_after)

    def receive_data(self, data: bytes) -> List[Event]:
        """Feed bytes of the event stream; returns the events they complete.

        Raises:
            RemoteProtocolError: the stream broke ``max_event_size``; the
                machine is CLOSED (the server would resend the same event).
            LocalProtocolError: not OPEN (the machine is then CLOSED).
        """
        self._process(Input.DATA)
        decoder = self._decoder
        assert decoder is not None
        try:
            events = decoder.feed(data)
        except RemoteProtocolError:
            self._process(Input.PROTOCOL_ERROR)
            raise
        self._last_event_id = decoder.last_event_id
        retry = decoder.retry
        if retry is not None:
            # min() first: a retry of up to 4300 digits is too large for a float.
            self._reconnection_time = min(retry, _MAX_RETRY_MS) / 1000.0
        if events:
            self._attempts = 0
            self._streak_start = None
        return events

    def stream_ended(self) -> Union[Wait, Stop]:
        """Report that the response body ended cleanly.

        Any incomplete event is discarded, as the spec says.

        Raises:
            RemoteProtocolError: the last bytes fed broke the decoder's limit.
            LocalProtocolError: not OPEN (the machine is then CLOSED).
        """
        decoder = self._decoder
        if self._state is State.OPEN and decoder is not None:
            try:
                decoder.close()
            except RemoteProtocolError:
                self._process(Input.PROTOCOL_ERROR)
                raise
        return self._reconnect_or_give_up(Input.END, None, None)

    def network_error(self, error: BaseException) -> Union[Wait, Stop]:
        """Report that connecting, sending or reading failed (timeouts included).

        Raises:
            LocalProtocolError: no connection was in progress (now CLOSED).
        """
        return self._reconnect_or_give_up(Input.NETWORK_ERROR, error, None)

    def delay_elapsed(self) -> Connect:
        """Report that the wait is over; returns the request to send.

        Raises:
            LocalProtocolError: not WAITING (the machine is then CLOSED).
        """
        self._process(Input.DELAY_ELAPSED)
        if self.resume is not None:
            self._redirects = 0
            self._request = self.resume
            return self._with_headers(self._request)
        return self._first_request()

    def close(self) -> Stop:
        """Close the EventSource for good, from any state; idempotent."""
        self._process(Input.CLOSE)
        return Stop(self._status, None)

    # -- outputs ------------------------------------------------------------------------

    def _first_request(self) -> Connect:
        self._redirects = 0
        self._request = Connect(self.method, self.url, self.headers, self.body)
        return self._with_headers(self._request)

    def _with_headers(self, request: Connect) -> Connect:
        return request._replace(headers=request_headers(request.headers, self._last_event_id))

    def _redirect(self, status: int, location: str) -> Connect:
        self._redirects += 1
        old = self._request
        url = urljoin(old.url, location)
        method, body = old.method, old.body
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
        headers = old.headers
        if _origin(url) != _origin(old.url):
            headers = [(k, v) for k, v in headers if k.lower() not in _CREDENTIAL_HEADERS]
        self._request = Connect(method, url, headers, body)
        return self._with_headers(self._request)

    def _out_of_budget(self) -> bool:
        policy = self.policy
        if policy.max_attempts is not None and self._attempts >= policy.max_attempts:
            return True
        if policy.max_elapsed is not None and self._streak_start is not None:
            return policy.clock() - self._streak_start >= policy.max_elapsed
        return False

    def _resends_unsafely(self) -> bool:
        """True when reconnecting would send the first request's unsafe method
        (a POST that may have run a tool or a generation) again, unasked."""
        return self.resume is None and self.method not in _SAFE_METHODS

    def _reconnect_or_give_up(
        self, event: Input, error: Optional[BaseException], minimum: Optional[float]
    ) -> Union[Wait, Stop]:
        unsafe = self._resends_unsafely()
        if (self._state, event) in TRANSITIONS and (unsafe or self._out_of_budget()):
            self._process(Input.GIVE_UP)
            if event is Input.END and (unsafe or self.policy.max_attempts == 0):
                # Reconnection is off (as for most LLM APIs): a body that
                # ended cleanly is just the end, not a failure.
                return Stop(self._status, None)
            if unsafe:
                message = (
                    f"will not send {self.method} to {self.url} again (pass"
                    f" resume=Resume(...) to reconnect)"
                )
            else:
                message = f"gave up reconnecting to {self.url} after {self._attempts} attempt(s)"
            limit = ReconnectLimitError(
                message + (f": {error}" if error is not None else ""), attempts=self._attempts
            )
            limit.__cause__ = error
            return Stop(self._status, limit)
        self._process(event)
        if self._streak_start is None:
            self._streak_start = self.policy.clock()
        delay = self.policy.delay(self._reconnection_time, self._attempts)
        if minimum is not None:
            delay = max(delay, minimum)
        self._attempts += 1
        self._decoder = None
        return Wait(delay, error)
