# SPDX-License-Identifier: MIT
"""The request methods a stream answers, and its CORS headers (sse_core._access)."""

from __future__ import annotations

from typing import Any

import pytest

from sse_core._access import CORS, DEFAULT_METHODS, check_methods, early_answer

PAGE = "https://app.example"


def test_methods_are_checked_and_upper_cased() -> None:
    assert DEFAULT_METHODS == ("GET", "HEAD")
    assert check_methods(["post", "M-SEARCH"]) == ("POST", "M-SEARCH")
    for bad in ([], ["GET POST"], ["G\r\nX"], [""], ["É"]):
        with pytest.raises(ValueError):
            check_methods(bad)


def test_other_methods_get_405_with_allow() -> None:
    assert early_answer("GET", None, False, DEFAULT_METHODS, None) is None
    assert early_answer("HEAD", None, False, DEFAULT_METHODS, None) is None
    assert early_answer("POST", None, False, DEFAULT_METHODS, None) == (
        405,
        [("Allow", "GET, HEAD")],
    )
    assert early_answer("GET", None, False, ("POST",), None) == (405, [("Allow", "POST")])
    # Without CORS an OPTIONS request is a method like any other.
    assert early_answer("OPTIONS", PAGE, True, DEFAULT_METHODS, None) == (
        405,
        [("Allow", "GET, HEAD")],
    )
    cors = CORS([PAGE])
    assert early_answer("PUT", PAGE, False, ("POST",), cors) == (
        405,
        [("Allow", "POST, OPTIONS")],
    )
    assert early_answer("PUT", PAGE, False, ("OPTIONS",), cors) == (405, [("Allow", "OPTIONS")])


def test_response_headers_for_listed_unlisted_and_any_origin() -> None:
    cors = CORS([PAGE, "http://127.0.0.1:8000"], credentials=True)
    assert cors.response_headers(PAGE) == [
        ("Vary", "Origin"),
        ("Access-Control-Allow-Origin", PAGE),
        ("Access-Control-Allow-Credentials", "true"),
    ]
    assert cors.response_headers("https://evil.example") == [("Vary", "Origin")]
    assert cors.response_headers(None) == [("Vary", "Origin")]
    assert CORS(PAGE).response_headers(PAGE) == [
        ("Vary", "Origin"),
        ("Access-Control-Allow-Origin", PAGE),
    ]
    assert CORS("*").response_headers("https://any.example") == [
        ("Access-Control-Allow-Origin", "*")
    ]


def test_preflight() -> None:
    cors = CORS([PAGE], allow_headers=["Last-Event-ID", "Content-Type"], max_age=60)
    assert early_answer("OPTIONS", PAGE, True, ("POST",), cors) == (
        204,
        [
            ("Vary", "Origin"),
            ("Access-Control-Allow-Origin", PAGE),
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", "Last-Event-ID, Content-Type"),
            ("Access-Control-Max-Age", "60"),
        ],
    )
    # An origin not listed: nothing allowed, so the browser stops there.
    assert early_answer("OPTIONS", "https://evil.example", True, ("POST",), cors) == (
        204,
        [("Vary", "Origin")],
    )
    # Not a preflight (no Access-Control-Request-Method): 405.
    assert early_answer("OPTIONS", PAGE, False, ("POST",), cors) == (
        405,
        [("Allow", "POST, OPTIONS")],
    )


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (["app.example"], {}),
        (["https://app.example/path"], {}),
        (["https://app.example\r\nX: y"], {}),
        (["https://"], {}),
        (["*"], {"credentials": True}),
        ([[PAGE, "*"]], {"credentials": True}),
        ([PAGE], {"allow_headers": ["Bad Header"]}),
        ([PAGE], {"allow_headers": [""]}),
        ([PAGE], {"max_age": -1}),
        ([PAGE], {"max_age": 1.5}),
    ],
)
def test_bad_cors_settings_are_refused(args: Any, kwargs: Any) -> None:
    with pytest.raises(ValueError):
        CORS(*args, **kwargs)
