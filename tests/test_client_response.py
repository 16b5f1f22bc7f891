"""The sans-IO HTTP/1.1 response reader both clients use: head, framing, content coding."""

from __future__ import annotations

import gzip
import zlib
from typing import List, Optional, Sequence, Tuple

import pytest

from sse_core._client_http import MAX_HEAD_SIZE, encode_request, split_url
from sse_core._client_response import (
    MAX_FRAMING_LINE,
    MAX_INTERIM_RESPONSES,
    MAX_PIECE,
    MalformedResponseError,
    ResponseReader,
    head_time_left,
    unsupported_coding,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


def read_all(
    wire: bytes, *, step: Optional[int] = None, method: str = "GET", eof: bool = True
) -> Tuple[int, bytes]:
    """Feed ``wire`` (in pieces of ``step`` bytes), return the status and the body."""
    reader = ResponseReader(method)
    step = step or len(wire) or 1
    chunks = [wire[i : i + step] for i in range(0, len(wire), step)]
    body: List[bytes] = []

    def more() -> None:
        if chunks:
            reader.feed(chunks.pop(0))
        elif eof:
            reader.feed_eof()
        else:
            raise AssertionError("needs more data")

    head = reader.next_head()
    while head is None:
        more()
        head = reader.next_head()
    while True:
        piece = reader.next_piece()
        if piece is None:
            more()
        elif not piece:
            return head.status, b"".join(body)
        else:
            assert len(piece) <= MAX_PIECE
            body.append(piece)


CASES = [
    (OK + b"Transfer-Encoding: chunked\r\n\r\n", b"3\r\nabc\r\n0\r\n\r\n", b"abc"),
    (
        OK + b"Transfer-Encoding: chunked\r\n\r\n",
        b"3;x=1\r\nabc\r\n2 ; y\r\nde\r\n0\r\nT: 1\r\n\r\n",
        b"abcde",
    ),
    (OK + b"Transfer-Encoding: chunked\n\n", b"3\nabc\n0\n\n", b"abc"),
    (OK + b"Content-Length: 3\r\n\r\n", b"abc", b"abc"),
    (OK + b"Content-Length: 3, 3\r\nContent-Length: 3\r\n\r\n", b"abc", b"abc"),
    (OK + b"Content-Length: 0\r\n\r\n", b"", b""),
    (OK + b"\r\n", b"abc", b"abc"),
    (
        OK + b"Transfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n",
        b"1\r\na\r\n0\r\n\r\n",
        b"a",
    ),
]


@pytest.mark.parametrize("head, body, expected", CASES)
@pytest.mark.parametrize("step", [None, 1, 2, 5])
def test_framing_is_removed_at_any_cut(
    head: bytes, body: bytes, expected: bytes, step: Optional[int]
) -> None:
    assert read_all(head + body, step=step) == (200, expected)


@pytest.mark.parametrize("step", [None, 1, 7])
def test_the_body_ends_before_bytes_that_follow_it(step: Optional[int]) -> None:
    wire = OK + b"Content-Length: 3\r\n\r\nabcEXTRA"
    assert read_all(wire, step=step, eof=False) == (200, b"abc")
    wire = OK + b"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nEXTRA"
    assert read_all(wire, step=step, eof=False) == (200, b"a")


@pytest.mark.parametrize(
    "status_line, method",
    [(b"HTTP/1.1 204 No Content", "GET"), (b"HTTP/1.1 304 X", "GET"), (b"HTTP/1.1 200 OK", "HEAD")],
)
def test_no_body(status_line: bytes, method: str) -> None:
    wire = status_line + b"\r\nContent-Length: 10\r\n\r\n"
    assert read_all(wire, method=method, eof=False)[1] == b""


BAD_BODIES = [
    # Issue 18.1: a negative size read to the end of the connection.
    (b"Transfer-Encoding: chunked", b"-1\r\n" + b"x" * 100, "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"+1\r\nx\r\n", "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"0x1\r\nx\r\n", "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"1 1\r\nx\r\n", "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"\r\n", "bad chunk size line"),
    (b"Transfer-Encoding: chunked", "\u0661\r\nx\r\n".encode(), "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"1" * 17 + b"\r\n", "bad chunk size line"),
    (b"Transfer-Encoding: chunked", b"1\r\nxy\r\n", "chunk data longer than its size"),
    # Issue 18.2: a size line over 64 KiB, and a non-ASCII digit.
    (b"Transfer-Encoding: chunked", b"1;" + b"e" * 70000 + b"\r\n", "longer than 8192"),
    (b"Transfer-Encoding: chunked", b"1" + b" " * (MAX_FRAMING_LINE + 10), "longer than 8192"),
    (b"Transfer-Encoding: chunked", b"0\r\n" + b"T: x\r\n" * 20000, "trailers longer"),
    (b"Transfer-Encoding: chunked", b"3\r\nab", "before the body's end"),
    (b"Transfer-Encoding: chunked", b"3\r\nabc\r\n", "inside the chunked framing"),
    (b"Content-Length: \xc2\xb2", b"x", "bad Content-Length"),
    (b"Content-Length: -1", b"x", "bad Content-Length"),
    (b"Content-Length: 1\r\nContent-Length: 2", b"xx", "bad Content-Length"),
    (b"Content-Length: 1, 2", b"xx", "bad Content-Length"),
    (b"Content-Length: " + b"9" * 19, b"xx", "bad Content-Length"),
    (b"Content-Length: 5", b"abc", "before the body's end"),
]


@pytest.mark.parametrize("header, body, message", BAD_BODIES)
def test_bad_framing_is_a_malformed_response(header: bytes, body: bytes, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message) as info:
        read_all(OK + header + b"\r\n\r\n" + body, step=4096)
    assert isinstance(info.value, ConnectionError)  # a network error to the clients


def test_a_negative_chunk_size_fails_before_the_body_is_read() -> None:
    reader = ResponseReader()
    reader.feed(OK + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n")
    assert reader.next_head() is not None
    with pytest.raises(MalformedResponseError):
        reader.next_piece()


BAD_HEADS = [
    (b"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status code"),
    (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "CR or NUL"),
    (b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", "CR or NUL"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD_SIZE, "longer than 65536"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD_SIZE + b"\r\n\r\n", "longer than 65536"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM_RESPONSES + 1), "more than 10 interim"),
    (b"HTTP/1.1 200 OK\r\n", "closed before the response head"),
    (b"", "closed before the response head"),
]


@pytest.mark.parametrize("wire, message", BAD_HEADS)
def test_bad_heads_are_malformed_responses(wire: bytes, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message):
        read_all(wire, step=1000)


def test_interim_responses_are_skipped_up_to_the_bound() -> None:
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" * MAX_INTERIM_RESPONSES
    assert read_all(interim + OK + b"Content-Length: 1\r\n\r\nx", step=3) == (200, b"x")
    # 101 is not interim: it is the answer (and not an event stream).
    assert read_all(b"HTTP/1.1 101 Switching\r\n\r\nxyz", eof=False) == (101, b"")


def test_interim_heads_count_towards_the_head_bound() -> None:
    interim = b"HTTP/1.1 103 X\r\nLink: " + b"a" * 7000 + b"\r\n\r\n"
    with pytest.raises(MalformedResponseError, match="longer than 65536"):
        read_all(interim * MAX_INTERIM_RESPONSES + OK + b"\r\n", step=5000)


# -- content coding ------------------------------------------------------------------------


def compressed(coding: str, data: bytes) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # raw deflate
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "raw-deflate"])
@pytest.mark.parametrize("step", [None, 1, 3])
def test_compressed_bodies_are_inflated(coding: str, step: Optional[int]) -> None:
    data = b"data: hello\n\n" * 50
    header = "deflate" if coding == "raw-deflate" else coding.upper()
    wire = OK + f"Content-Encoding: {header}\r\n\r\n".encode() + compressed(coding, data)
    assert read_all(wire, step=step) == (200, data)


def test_several_gzip_members_and_identity_are_read() -> None:
    body = gzip.compress(b"data: a\n\n") + gzip.compress(b"data: b\n\n")
    wire = OK + b"Content-Encoding: identity, gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    assert read_all(wire, step=7) == (200, b"data: a\n\ndata: b\n\n")


def test_a_zip_bomb_comes_out_in_bounded_pieces() -> None:
    inflated = 50 * 1024 * 1024
    bomb = gzip.compress(b"\n" * inflated)  # 50 MiB from about 50 KiB
    reader = ResponseReader()
    reader.feed(OK + b"Content-Encoding: gzip\r\n\r\n" + bomb)
    reader.feed_eof()
    assert reader.next_head() is not None
    total = 0
    while True:
        piece = reader.next_piece()
        assert piece is not None
        if not piece:
            break
        assert len(piece) <= MAX_PIECE
        total += len(piece)
    assert total == inflated


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not gzip at all", "does not inflate"),
        (gzip.compress(b"data: x\n\n")[:-12], "inside its compressed stream"),
        (gzip.compress(b"data: x\n\n")[:1], "inside its compressed stream"),
        (gzip.compress(b"data: x\n\n") + b"junk", "does not inflate"),
    ],
    ids=["garbage", "cut", "one-byte", "trailing-junk"],
)
def test_unreadable_compressed_bodies_are_errors_not_empty_streams(
    body: bytes, message: str
) -> None:
    wire = OK + b"Content-Encoding: gzip\r\n\r\n" + body
    with pytest.raises(MalformedResponseError, match=message):
        read_all(wire)


@pytest.mark.parametrize(
    "headers, expected",
    [
        ([], None),
        ([("Content-Encoding", "gzip")], None),
        ([("Content-Encoding", "identity")], None),
        ([("Transfer-Encoding", "Chunked")], None),
        ([("Content-Encoding", "br")], "Content-Encoding: 'br'"),
        ([("Content-Encoding", "gzip, gzip")], "Content-Encoding: 'gzip, gzip'"),
        ([("Transfer-Encoding", "gzip, chunked")], "Transfer-Encoding: 'gzip, chunked'"),
        ([("Transfer-Encoding", "identity")], "Transfer-Encoding: 'identity'"),
    ],
)
def test_unsupported_codings(headers: Sequence[Tuple[str, str]], expected: Optional[str]) -> None:
    assert unsupported_coding(headers) == expected


def test_an_unsupported_coding_yields_no_body() -> None:
    wire = OK + b"Content-Encoding: br\r\n\r\n\x8b\x00\x00"
    assert read_all(wire, eof=False) == (200, b"")


def test_the_body_stays_at_its_end() -> None:
    reader = ResponseReader()
    reader.feed(OK + b"Content-Length: 1\r\n\r\nx")
    assert reader.next_head() is not None
    assert [reader.next_piece() for _ in range(3)] == [b"x", b"", b""]


def test_a_one_byte_deflate_body_is_an_error() -> None:
    with pytest.raises(MalformedResponseError, match="inside its compressed stream"):
        read_all(OK + b"Content-Encoding: deflate\r\n\r\nx")


def test_head_time_left() -> None:
    assert head_time_left(None, 5.0) is None
    assert head_time_left(10.0, 4.0) == 6.0
    for now in (10.0, 11.0):
        with pytest.raises(TimeoutError, match="no complete response head within read_timeout"):
            head_time_left(10.0, now)


def test_request_bytes() -> None:
    assert encode_request("POST", "/a", [("X", "\u65e5")], b"hi") == (
        b"POST /a HTTP/1.1\r\nX: \xe6\x97\xa5\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
    )
    bad = [
        ("GET /", "/", []),
        ("GET", "/a b", []),
        ("GET", "", []),
        ("GET", "/", [("X", "a\nb")]),
        ("GET", "/", [("X Y", "a")]),
    ]
    for method, target, headers in bad:
        with pytest.raises(ValueError, match="invalid"):
            encode_request(method, target, headers, None)


def test_urls_are_made_sendable() -> None:
    assert split_url("http://b\u00fccher.example/\u00e9 x?q=\u65e5") == (
        "http",
        "xn--bcher-kva.example",
        80,
        "/%C3%A9%20x?q=%E6%97%A5",
    )
    assert split_url("http://h/%41%20")[3] == "/%41%20"  # escapes kept as they are
    for url in ("http://a b/", "http://\u00e9" + "x" * 70 + ".example/", "http://a\x01b/"):
        with pytest.raises(ValueError, match="bad host name"):
            split_url(url)
