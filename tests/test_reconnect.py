"""The sans-IO reconnection state machine: the table, the spec's rules, backoff."""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_core import (
    Connect,
    Event,
    EventSourceState,
    LocalProtocolError,
    Open,
    ReadyState,
    ReconnectLimitError,
    ReconnectPolicy,
    RemoteProtocolError,
    ResponseError,
    Resume,
    Stop,
    Wait,
)
from sse_core._client_http import get_header, is_event_stream, request_headers
from sse_core._reconnect import (
    MAX_RECONNECTION_TIME,
    TRANSITIONS,
    Input,
    State,
    classify_response,
)

SSE = [("Content-Type", "text/event-stream")]
URL = "http://example.test/stream"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def policy(**kwargs: object) -> ReconnectPolicy:
    """A deterministic policy: no jitter unless asked, a fixed clock."""
    options: Dict[str, object] = {"jitter": 0.0, "clock": FakeClock()}
    options.update(kwargs)
    return ReconnectPolicy(**options)  # type: ignore[arg-type]


def machine_in(state: State, **kwargs: object) -> EventSourceState:
    """A machine driven through the public API into ``state``."""
    m = EventSourceState(URL, policy=policy(), **kwargs)  # type: ignore[arg-type]
    if state is State.IDLE:
        pass
    elif state is State.CONNECTING:
        m.connect()
    elif state is State.OPEN:
        m.connect()
        m.receive_response(200, SSE)
    elif state is State.WAITING:
        m.connect()
        m.network_error(OSError("refused"))
    else:
        m.close()
    assert m.state is state
    return m


# -- every (state, input) pair of the table ------------------------------------------


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", list(Input))
def test_every_pair_follows_the_table_or_closes_and_raises(state: State, event: Input) -> None:
    m = machine_in(state)
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(LocalProtocolError, match=event.name):
            m._process(event)
        assert m.state is State.CLOSED
        assert m.ready_state is ReadyState.CLOSED
    else:
        assert m._process(event) is expected
        assert m.state is expected


def test_closed_accepts_only_close() -> None:
    legal = {event for (state, event) in TRANSITIONS if state is State.CLOSED}
    assert legal == {Input.CLOSE}
    assert all(TRANSITIONS[key] is State.CLOSED for key in TRANSITIONS if key[0] is State.CLOSED)


# A step is a public method call with arguments; hypothesis draws sequences.
Step = Tuple[str, Callable[[EventSourceState], object]]

statuses = st.sampled_from([200, 204, 301, 303, 307, 400, 404, 500, 503])
content_types = st.sampled_from(
    [None, "text/event-stream", "Text/Event-Stream; charset=utf-8", "text/plain"]
)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    kind = draw(
        st.sampled_from(["connect", "response", "data", "end", "error", "elapsed", "close"])
    )
    if kind == "response":
        status = draw(statuses)
        ctype = draw(content_types)
        headers = [] if ctype is None else [("Content-Type", ctype)]
        if draw(st.booleans()):
            headers.append(("Location", "/elsewhere"))
        return kind, lambda m: m.receive_response(status, headers)
    if kind == "data":
        chunk = draw(st.sampled_from([b"data: x\n\n", b"id: 7\n", b"retry: 10\n", b"data: y"]))
        return kind, lambda m: m.receive_data(chunk)
    methods: Dict[str, Callable[[EventSourceState], object]] = {
        "connect": lambda m: m.connect(),
        "end": lambda m: m.stream_ended(),
        "error": lambda m: m.network_error(OSError("boom")),
        "elapsed": lambda m: m.delay_elapsed(),
        "close": lambda m: m.close(),
    }
    return kind, methods[kind]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(steps(), max_size=25),
    st.sampled_from([None, 0, 1, 3]),
    st.booleans(),
)
def test_public_api_walks_follow_the_table(
    walk: List[Step], max_attempts: Optional[int], retry_5xx: bool
) -> None:
    m = EventSourceState(
        URL, policy=policy(max_attempts=max_attempts, retry_server_errors=retry_5xx)
    )
    for _name, call in walk:
        before = m.state
        m.last_input = None
        try:
            result = call(m)
        except LocalProtocolError:
            assert m.last_input is not None
            assert (before, m.last_input) not in TRANSITIONS
            assert m.state is State.CLOSED
            continue
        assert m.last_input is not None
        assert m.state is TRANSITIONS[(before, m.last_input)]
        # The action returned matches the state reached.
        if isinstance(result, Wait):
            assert m.state is State.WAITING
        elif isinstance(result, Stop):
            assert m.state is State.CLOSED
        elif isinstance(result, Open):
            assert m.state is State.OPEN
        elif isinstance(result, Connect):
            assert m.state is State.CONNECTING
        else:
            assert isinstance(result, list)
            assert m.state is State.OPEN


# -- responses, as the spec says ----------------------------------------------------------


def test_200_event_stream_opens() -> None:
    m = machine_in(State.CONNECTING)
    action = m.receive_response(200, [("content-type", "text/event-stream; charset=UTF-8")])
    assert isinstance(action, Open)
    assert m.ready_state is ReadyState.OPEN
    assert m.status == 200


def test_response_headers_may_be_a_mapping_or_none() -> None:
    m = machine_in(State.CONNECTING)
    assert isinstance(m.receive_response(200, {"CONTENT-TYPE": "text/event-stream"}), Open)
    m = machine_in(State.CONNECTING)
    action = m.receive_response(200, None)
    assert isinstance(action, Stop)
    assert isinstance(action.error, ResponseError)
    assert action.error.content_type is None
    assert m.ready_state is ReadyState.CLOSED


def test_states_and_inputs_repr_as_their_qualified_names() -> None:
    assert [repr(s) for s in State] == [f"State.{s.name}" for s in State]
    assert repr(Input.DELAY_ELAPSED) == "Input.DELAY_ELAPSED"
    assert repr(State.WAITING) == "State.WAITING"


def test_204_stops_without_error() -> None:
    m = machine_in(State.CONNECTING)
    assert m.receive_response(204, []) == Stop(204, None)
    assert m.ready_state is ReadyState.CLOSED


@pytest.mark.parametrize(
    "status, headers",
    [
        (200, [("Content-Type", "text/plain")]),
        (200, []),
        (200, [("Content-Type", "text/event-streams")]),
        (201, SSE),
        (404, SSE),
        (500, SSE),
        (503, []),
        (302, []),
    ],
)
def test_other_answers_fail_for_good(status: int, headers: List[Tuple[str, str]]) -> None:
    m = machine_in(State.CONNECTING)
    action = m.receive_response(status, headers)
    assert isinstance(action, Stop)
    assert isinstance(action.error, ResponseError)
    assert action.error.status == status
    assert action.error.content_type == get_header(headers, "content-type")
    assert str(status) in str(action.error)
    assert m.ready_state is ReadyState.CLOSED


def test_5xx_retry_is_opt_in_and_honours_retry_after() -> None:
    m = EventSourceState(URL, policy=policy(retry_server_errors=True, initial_delay=1))
    m.connect()
    action = m.receive_response(503, [("Retry-After", "7")])
    assert isinstance(action, Wait)
    assert action.delay == 7.0
    assert isinstance(action.error, ResponseError)
    assert m.state is State.WAITING
    m.delay_elapsed()
    action = m.receive_response(500, [])
    assert isinstance(action, Wait)
    assert action.delay == 2.0  # second attempt of the streak: backed off
    m.delay_elapsed()
    assert isinstance(m.receive_response(404, []), Stop)


def test_redirects_are_followed_and_reconnection_uses_the_original_url() -> None:
    m = EventSourceState(
        URL,
        method="POST",
        body=b"{}",
        headers={"Authorization": "Bearer x", "X-Mine": "1"},
        policy=policy(),
        resume=Resume(method="POST", body=b"{}"),  # asked to send the POST again
    )
    m.connect()
    action = m.receive_response(307, [("Location", "/v2/stream")])
    assert isinstance(action, Connect)
    assert (action.method, action.url, action.body) == (
        "POST",
        "http://example.test/v2/stream",
        b"{}",
    )
    assert get_header(action.headers, "authorization") == "Bearer x"
    action = m.receive_response(303, [("Location", "https://other.test/s")])
    assert isinstance(action, Connect)
    assert (action.method, action.url, action.body) == ("GET", "https://other.test/s", None)
    assert get_header(action.headers, "authorization") is None  # another origin
    assert get_header(action.headers, "x-mine") == "1"
    m.receive_response(200, SSE)
    m.receive_data(b"id: 5\ndata: a\n\n")
    m.stream_ended()
    again = m.delay_elapsed()
    assert (again.method, again.url, again.body) == ("POST", URL, b"{}")
    assert get_header(again.headers, "last-event-id") == "5"


def test_redirect_loops_end() -> None:
    m = machine_in(State.CONNECTING)
    action: object = None
    for _ in range(25):
        action = m.receive_response(302, [("Location", "/loop")])
        if isinstance(action, Stop):
            break
    assert isinstance(action, Stop)
    assert isinstance(action.error, ResponseError)
    assert "too many redirects (more than 20 in a row)" in str(action.error)


# -- the stream, Last-Event-ID and retry -------------------------------------------------


def test_reconnect_after_end_sends_last_event_id_and_honours_retry() -> None:
    m = EventSourceState(URL, policy=policy(initial_delay=3))
    first = m.connect()
    assert get_header(first.headers, "last-event-id") is None
    assert get_header(first.headers, "accept") == "text/event-stream"
    assert get_header(first.headers, "cache-control") == "no-cache"
    m.receive_response(200, SSE)
    events = m.receive_data(b"retry: 250\nid: 41\ndata: one\n\nid: 42\ndata: tw")
    assert events == [Event(data="one", id="41", retry=250)]
    assert m.reconnection_time == 0.25
    assert m.last_event_id == "41"
    action = m.stream_ended()  # the partial event "tw" (id 42) is discarded
    assert action == Wait(0.25, None)
    request = m.delay_elapsed()
    assert get_header(request.headers, "last-event-id") == "41"
    m.receive_response(200, SSE)
    assert m.receive_data(b"data: three\n\n") == [Event(data="three", id="41")]


@pytest.mark.parametrize(
    "value, seconds",
    [
        (b"86399999", 86399.999),
        (b"86400000", MAX_RECONNECTION_TIME),
        (b"1" + b"0" * 30, MAX_RECONNECTION_TIME),  # 10**30 ms
        (b"9" * 4300, MAX_RECONNECTION_TIME),  # too large for a float
        (b"9" * 4301, 3.0),  # the decoder ignores it: the policy's time stays
    ],
)
def test_a_server_retry_counts_as_at_most_a_day(value: bytes, seconds: float) -> None:
    m = EventSourceState(URL, policy=policy(initial_delay=3))
    m.connect()
    m.receive_response(200, SSE)
    assert [e.data for e in m.receive_data(b"retry: " + value + b"\ndata: x\n\n")] == ["x"]
    assert m.reconnection_time == seconds
    assert m.stream_ended() == Wait(seconds, None)


def test_retry_after_counts_as_at_most_a_day() -> None:
    m = EventSourceState(URL, policy=policy(retry_server_errors=True))
    m.connect()
    action = m.receive_response(503, [("Retry-After", "999999999")])
    assert isinstance(action, Wait)
    assert action.delay == MAX_RECONNECTION_TIME


@pytest.mark.parametrize(
    "location", ["http://h:99999/", "http://[::1/", "http://:80/", "https://", "mailto:a@b"]
)
def test_a_redirect_to_an_unusable_location_fails(location: str) -> None:
    m = machine_in(State.CONNECTING)
    action = m.receive_response(302, [("Location", location)])
    assert isinstance(action, Stop)
    assert isinstance(action.error, ResponseError)
    assert "a redirect without a usable http(s) Location" in str(action.error)
    assert m.state is State.CLOSED


def test_response_error_says_what_content_type_it_got() -> None:
    for headers, shown in [([], "(no Content-Type)"), (SSE, "(Content-Type: 'text/event-stream')")]:
        m = machine_in(State.CONNECTING)
        action = m.receive_response(404, headers)
        assert isinstance(action, Stop)
        assert f"{URL} answered 404 {shown}: expected 200" in str(action.error)


def test_initial_last_event_id_is_sent_and_seeds_the_decoder() -> None:
    m = EventSourceState(URL, last_event_id="x9", policy=policy())
    assert get_header(m.connect().headers, "last-event-id") == "x9"
    m.receive_response(200, SSE)
    assert m.receive_data(b"data: a\n\n") == [Event(data="a", id="x9")]


def test_user_headers_win_except_last_event_id() -> None:
    headers = request_headers([("accept", "*/*"), ("Last-Event-ID", "old")], "new")
    assert headers == [("accept", "*/*"), ("Cache-Control", "no-cache"), ("Last-Event-ID", "new")]


def test_user_accept_and_cache_control_are_kept() -> None:
    headers = request_headers([("Cache-Control", "max-age=0"), ("ACCEPT", "*/*")], "")
    assert headers == [("Cache-Control", "max-age=0"), ("ACCEPT", "*/*")]


def test_event_too_large_fails_for_good() -> None:
    m = machine_in(State.IDLE, max_event_size=8)
    m.connect()
    m.receive_response(200, SSE)
    with pytest.raises(RemoteProtocolError):
        m.receive_data(b"data: 0123456789\n\n")
    assert m.state is State.CLOSED


def test_event_too_large_at_end_of_stream_fails_for_good() -> None:
    m = machine_in(State.IDLE, max_event_size=8)
    m.connect()
    m.receive_response(200, SSE)
    assert m.receive_data(b"data: a\n\ndata: 0123456789\n\n") == [Event(data="a", id="")]
    with pytest.raises(RemoteProtocolError):
        m.stream_ended()
    assert m.state is State.CLOSED


# -- backoff and giving up --------------------------------------------------------------


def test_backoff_grows_is_capped_and_resets_on_an_event() -> None:
    m = EventSourceState(URL, policy=policy(initial_delay=1, multiplier=2, max_delay=5))
    m.connect()
    delays = []
    for _ in range(5):
        action = m.network_error(OSError("refused"))
        assert isinstance(action, Wait)
        delays.append(action.delay)
        m.delay_elapsed()
    assert delays == [1, 2, 4, 5, 5]
    m.receive_response(200, SSE)
    m.receive_data(b"data: ok\n\n")
    assert m.attempts == 0
    assert m.stream_ended() == Wait(1.0, None)


def test_server_retry_above_the_cap_wins() -> None:
    p = ReconnectPolicy(max_delay=1, jitter=0)
    assert p.delay(10.0, 0) == 10.0
    assert p.delay(10.0, 3) == 10.0


def test_a_very_long_outage_stays_at_the_cap() -> None:
    p = ReconnectPolicy(max_delay=30, jitter=0, multiplier=10)
    assert p.delay(1.0, 10**6) == 30.0
    m = EventSourceState(URL, policy=policy(max_delay=5))
    m.connect()
    delays = []
    for _ in range(1100):
        action = m.network_error(OSError())
        assert isinstance(action, Wait)
        delays.append(action.delay)
        m.delay_elapsed()
    assert delays[-1] == 5.0
    assert m.attempts == 1100


def test_an_undecodable_coding_fails_the_connection_and_says_why() -> None:
    m = EventSourceState(URL, policy=policy())
    m.connect()
    action = m.receive_response(200, [*SSE, ("Content-Encoding", "br")])
    assert isinstance(action, Stop)
    assert isinstance(action.error, ResponseError)
    assert "cannot decode its Content-Encoding: 'br' (gzip and deflate are read)" in str(
        action.error
    )
    assert m.state is State.CLOSED


def test_retry_zero_allows_one_quick_reconnection_then_backs_off() -> None:
    # Issue 18.3: a server's "retry: 0" made every later delay 0 x 2**n,
    # 1,024 attempts in 0.6 s, then 0 x inf = NaN.  The first reconnection
    # is as quick as the server asked; later ones start at min_delay.
    m = EventSourceState(URL, policy=policy(max_delay=30))
    m.connect()
    m.receive_response(200, SSE)
    assert [e.data for e in m.receive_data(b"retry: 0\ndata: x\n\n")] == ["x"]
    delays = [m.stream_ended().delay]  # type: ignore[union-attr]
    for _ in range(1100):
        m.delay_elapsed()
        action = m.network_error(OSError("refused"))
        assert isinstance(action, Wait)
        delays.append(action.delay)
    assert delays[:6] == [0.0, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert delays[-1] == 30.0
    assert all(math.isfinite(d) for d in delays)
    assert sorted(delays) == delays


def test_backoff_jitters_above_the_floor_after_retry_zero() -> None:
    values = iter([0.5] * 3)
    p = ReconnectPolicy(jitter=0.5, random=lambda: next(values))
    assert [p.delay(0.0, n) for n in range(3)] == [0.0, 0.25, 0.5]


@pytest.mark.parametrize("multiplier", [1.0, 1.0001, 2.0, 1e300, 1e308])
@pytest.mark.parametrize("attempt", [1, 2, 1023, 1024, 10**6, 10**30])
def test_backoff_arithmetic_never_overflows(multiplier: float, attempt: int) -> None:
    p = ReconnectPolicy(jitter=1.0, multiplier=multiplier, random=lambda: 0.999)
    for retry in (0.0, 0.05, 1.0, MAX_RECONNECTION_TIME):
        delay = p.delay(retry, attempt)
        assert math.isfinite(delay)
        assert min(retry, 0.1) <= delay <= 2 * max(30.0, retry)


def test_min_delay_is_a_policy_setting() -> None:
    assert ReconnectPolicy(jitter=0, min_delay=1.0).delay(0.0, 1) == 2.0
    assert ReconnectPolicy(jitter=0, min_delay=0).delay(0.0, 5) == 0.0
    assert "min_delay=0.1" in repr(ReconnectPolicy())
    with pytest.raises(ValueError, match="delays must be >= 0"):
        ReconnectPolicy(min_delay=-1)


def test_jitter_is_injectable_and_only_adds() -> None:
    values = iter([0.0, 0.5, 0.999])
    p = ReconnectPolicy(jitter=0.5, random=lambda: next(values))
    assert [p.delay(2.0, 0) for _ in range(3)] == [2.0, 2.5, 2.0 * (1 + 0.5 * 0.999)]


def test_max_attempts_gives_up_with_the_cause() -> None:
    m = EventSourceState(URL, policy=policy(max_attempts=2))
    m.connect()
    errors = [OSError("a"), OSError("b"), OSError("c")]
    assert isinstance(m.network_error(errors[0]), Wait)
    m.delay_elapsed()
    assert isinstance(m.network_error(errors[1]), Wait)
    m.delay_elapsed()
    stop = m.network_error(errors[2])
    assert isinstance(stop, Stop)
    assert isinstance(stop.error, ReconnectLimitError)
    assert stop.error.attempts == 2
    assert stop.error.__cause__ is errors[2]
    assert m.state is State.CLOSED


def test_max_attempts_zero_never_reconnects() -> None:
    m = EventSourceState(URL, policy=policy(max_attempts=0))
    m.connect()
    m.receive_response(200, SSE)
    assert m.stream_ended() == Stop(200, None)  # the end, not a failure
    m = EventSourceState(URL, policy=policy(max_attempts=0))
    m.connect()
    m.receive_response(200, SSE)
    stop = m.network_error(OSError("reset"))
    assert isinstance(stop, Stop)
    assert isinstance(stop.error, ReconnectLimitError)


def test_max_attempts_counts_clean_ends_without_events() -> None:
    m = EventSourceState(URL, policy=policy(max_attempts=1))
    m.connect()
    m.receive_response(200, SSE)
    assert isinstance(m.stream_ended(), Wait)
    m.delay_elapsed()
    m.receive_response(200, SSE)
    stop = m.stream_ended()
    assert isinstance(stop, Stop)
    assert isinstance(stop.error, ReconnectLimitError)
    assert stop.error.__cause__ is None


def test_bytes_that_complete_no_event_do_not_reset_the_attempts() -> None:
    m = EventSourceState(URL, policy=policy(max_attempts=1))
    m.connect()
    m.receive_response(200, SSE)
    assert m.receive_data(b": keep-alive\nretry: 50\ndata: half") == []
    assert m.stream_ended() == Wait(0.05, None)
    m.delay_elapsed()
    m.receive_response(200, SSE)
    assert m.receive_data(b": keep-alive\n") == []
    stop = m.stream_ended()
    assert isinstance(stop, Stop)
    assert isinstance(stop.error, ReconnectLimitError)


def test_max_elapsed_bounds_a_streak() -> None:
    clock = FakeClock()
    m = EventSourceState(URL, policy=policy(max_elapsed=10, clock=clock))
    m.connect()
    assert isinstance(m.network_error(OSError()), Wait)
    clock.now += 9
    m.delay_elapsed()
    assert isinstance(m.network_error(OSError()), Wait)
    clock.now += 1
    m.delay_elapsed()
    assert isinstance(m.network_error(OSError()), Stop)


def test_close_from_every_state_is_clean() -> None:
    for state in State:
        m = machine_in(state)
        assert m.close() == Stop(m.status, None)
        assert m.ready_state is ReadyState.CLOSED
        assert m.close() == Stop(m.status, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": -1},
        {"multiplier": 0.5},
        {"jitter": 2},
        {"max_attempts": -1},
        {"max_elapsed": -1},
    ],
)
def test_policy_refuses_nonsense(kwargs: Dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_repr_names_its_settings() -> None:
    assert "max_attempts=3" in repr(ReconnectPolicy(max_attempts=3))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("text/event-stream", True),
        ("TEXT/Event-Stream", True),
        ("text/event-stream;charset=utf-8", True),
        (" text/event-stream ; foo=bar", True),
        ("text/event-stream-x", False),
        ("text/plain", False),
        ("", False),
        (None, False),
    ],
)
def test_content_type_check(value: Optional[str], expected: bool) -> None:
    assert is_event_stream(value) is expected


def test_classify_response() -> None:
    assert classify_response(200, SSE, retry_server_errors=False) is Input.RESPONSE_OK
    gzipped = [*SSE, ("Content-Encoding", "gzip")]
    assert classify_response(200, gzipped, retry_server_errors=False) is Input.RESPONSE_OK
    brotli = [*SSE, ("Content-Encoding", "br")]
    assert classify_response(200, brotli, retry_server_errors=False) is Input.RESPONSE_FAIL
    assert classify_response(502, SSE, retry_server_errors=True) is Input.RESPONSE_RETRY
    assert classify_response(502, SSE, retry_server_errors=False) is Input.RESPONSE_FAIL
    loc = [("Location", "/x")]
    assert classify_response(308, loc, retry_server_errors=False) is Input.RESPONSE_REDIRECT
    ftp = [("Location", "ftp://example.test/x")]
    assert classify_response(302, ftp, retry_server_errors=False) is Input.RESPONSE_FAIL
    assert (
        classify_response(308, loc, retry_server_errors=False, redirects=20) is Input.RESPONSE_FAIL
    )


def test_bad_last_event_id_and_headers_are_refused() -> None:
    with pytest.raises(ValueError):
        EventSourceState(URL, last_event_id="a\nb")
    with pytest.raises(ValueError):
        EventSourceState(URL, headers={"X": "a\r\nInjected: 1"})


def test_only_http_urls_are_accepted() -> None:
    # As the sync and asyncio clients refuse them, so does the machine.
    for url in ("ftp://example.test/", "example.test/events", "http:///nohost"):
        with pytest.raises(ValueError):
            EventSourceState(url)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_an_unsafe_first_request_is_never_sent_again_unasked(method: str) -> None:
    # A POST that started a tool call or a generation would run it again.
    m = EventSourceState(URL, method=method, body=b"{}", policy=policy())
    m.connect()
    m.receive_response(200, SSE)
    m.receive_data(b"id: 1\ndata: a\n\n")
    assert m.stream_ended() == Stop(200, None)  # the body ended: just the end
    assert m.state is State.CLOSED
    for fail in ("network", "5xx"):
        m = EventSourceState(URL, method=method, policy=ReconnectPolicy(retry_server_errors=True))
        m.connect()
        cause = ConnectionResetError("cut")
        action: object = m.network_error(cause) if fail == "network" else None
        if fail == "5xx":
            action = m.receive_response(503, [])
        assert isinstance(action, Stop)
        assert isinstance(action.error, ReconnectLimitError)
        assert f"will not send {method} to {URL} again" in str(action.error)
        if fail == "network":
            assert action.error.__cause__ is cause
        else:
            assert isinstance(action.error.__cause__, ResponseError)
            assert action.error.__cause__.status == 503
        assert m.state is State.CLOSED


def test_a_get_or_head_reconnects_unasked() -> None:
    for method in ("GET", "HEAD"):
        m = EventSourceState(URL, method=method, policy=policy())
        m.connect()
        assert isinstance(m.network_error(ConnectionResetError("cut")), Wait)
