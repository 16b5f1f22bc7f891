# SPDX-License-Identifier: MIT
"""Who may open a stream: the request methods it answers, and CORS.

Nothing here does I/O.  Both server adapters ask :func:`early_answer` what to
do with a request before they open a stream for it, and add
:meth:`CORS.response_headers` to the stream's own headers, so the rules are
written and tested once.

The browser's side (WHATWG Fetch, "CORS check"), which these headers serve:

* ``new EventSource(url)`` on another origin sends a ``GET`` with an
  ``Origin`` header and no cookies; the browser hands the stream to the page
  only if the response's ``Access-Control-Allow-Origin`` is ``*`` or that
  origin.
* ``new EventSource(url, {withCredentials: true})`` sends cookies too, and then
  ``*`` is refused: the response must name the origin and also carry
  ``Access-Control-Allow-Credentials: true``.
* Neither asks first: ``GET`` with the headers an EventSource sets is a
  "simple" request.  A ``fetch()`` stream that posts JSON (an LLM-style
  ``POST``) is not: the browser first sends an ``OPTIONS`` preflight with
  ``Access-Control-Request-Method`` (and ``-Headers``) and sends the real
  request only if the answer allows that method and those headers.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple, Union

__all__ = ("CORS", "DEFAULT_METHODS", "check_methods", "early_answer")

_Header = Tuple[str, str]

#: The methods a stream built on a function answers unless told otherwise:
#: what ``EventSource`` sends, and ``HEAD``, which HTTP asks every server to
#: answer wherever it answers ``GET`` (with the headers and no body).
DEFAULT_METHODS = ("GET", "HEAD")


def check_methods(methods: Iterable[str]) -> Tuple[str, ...]:
    """``methods`` as a tuple of upper-case tokens.

    Raises:
        ValueError: no method, or one that is not an HTTP token.
    """
    result = tuple(str(method).upper() for method in methods)
    if not result or not all(_is_token(method) for method in result):
        raise ValueError(f"methods must be HTTP method names, got {methods!r}")
    return result


def _is_token(text: str) -> bool:
    # RFC 9110, section 5.6.2: method and header names are tokens.
    return bool(text) and text.isascii() and all(c.isalnum() or c in _TCHAR for c in text)


_TCHAR = frozenset("!#$%&'*+-.^_`|~")


class CORS:
    """Cross-origin access to a stream (the ``cors=`` option of both adapters).

    Args:
        origins: the origins allowed to read the stream, each
            ``scheme://host[:port]`` as browsers send it in ``Origin`` (a
            string or an iterable of them), or ``"*"`` for any origin
            (without credentials only).
        credentials: allow ``withCredentials`` requests (cookies, HTTP
            authentication): adds ``Access-Control-Allow-Credentials: true``.
        allow_headers: request headers a preflight may ask for; the default
            names ``Last-Event-ID``, the one an EventSource adds itself.  Add
            ``Content-Type`` for a ``fetch()`` that posts JSON.
        max_age: seconds a browser may cache a preflight answer.

    A request from an origin not in the list is still served, with no CORS
    headers: the browser then keeps the response from the page.

    Raises:
        ValueError: an origin with a path, a line break or no scheme;
            ``"*"`` with ``credentials=True`` (browsers refuse it, and
            echoing any origin instead would hand every site the user's
            stream); a header name that is not a token; a negative
            ``max_age``.
    """

    def __init__(
        self,
        origins: Union[str, Iterable[str]],
        *,
        credentials: bool = False,
        allow_headers: Sequence[str] = ("Last-Event-ID",),
        max_age: int = 600,
    ) -> None:
        allowed = (origins,) if isinstance(origins, str) else tuple(origins)
        for origin in allowed:
            if origin != "*" and not _is_origin(origin):
                raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
        if credentials and "*" in allowed:
            raise ValueError("CORS with credentials must list its origins, not '*'")
        for name in allow_headers:
            if not _is_token(name):
                raise ValueError(f"not a header name: {name!r}")
        if type(max_age) is not int or max_age < 0:
            raise ValueError(f"max_age must be a non-negative int, got {max_age!r}")
        self.origins = allowed
        self.credentials = credentials
        self.allow_headers = tuple(allow_headers)
        self.max_age = max_age

    def response_headers(self, origin: Optional[str]) -> List[_Header]:
        """The CORS headers of a response to a request from ``origin``."""
        if "*" in self.origins:
            return [("Access-Control-Allow-Origin", "*")]
        # The answer depends on Origin: say so to caches.
        headers = [("Vary", "Origin")]
        if origin is not None and origin in self.origins:
            headers.append(("Access-Control-Allow-Origin", origin))
            if self.credentials:
                headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight_headers(self, origin: str, methods: Sequence[str]) -> List[_Header]:
        """The headers of the answer to a preflight from ``origin``."""
        headers = self.response_headers(origin)
        if any(name == "Access-Control-Allow-Origin" for name, _ in headers):
            headers += [
                ("Access-Control-Allow-Methods", ", ".join(methods)),
                ("Access-Control-Allow-Headers", ", ".join(self.allow_headers)),
                ("Access-Control-Max-Age", str(self.max_age)),
            ]
        return headers


def _is_origin(text: str) -> bool:
    scheme, sep, rest = text.partition("://")
    return (
        bool(sep and scheme and rest)
        and text.isascii()
        and text.isprintable()
        and not any(c in rest for c in "/?# ")
    )


def early_answer(
    method: str,
    origin: Optional[str],
    preflight: bool,
    methods: Sequence[str],
    cors: Optional[CORS],
) -> Optional[Tuple[int, List[_Header]]]:
    """What to answer instead of a stream, or ``None`` to stream.

    Args:
        method: the request's method.
        origin: its ``Origin`` header, if any.
        preflight: whether it has an ``Access-Control-Request-Method`` header.
        methods: the methods the stream answers.
        cors: the stream's CORS settings, if any.

    Returns:
        ``(status, headers)`` of a response with no body: ``204`` with the
        CORS headers to an ``OPTIONS`` preflight (when ``cors`` is set),
        ``405`` with ``Allow`` to any other method not in ``methods``.
    """
    if cors is not None and method == "OPTIONS" and origin is not None and preflight:
        return 204, cors.preflight_headers(origin, methods)
    if method not in methods:
        allow = list(methods)
        if cors is not None and "OPTIONS" not in allow:
            allow.append("OPTIONS")
        return 405, [("Allow", ", ".join(allow))]
    return None
