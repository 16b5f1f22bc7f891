# SPDX-License-Identifier: MIT
"""Seeded event streams (the workloads) and the ways they are cut into chunks.

Every generator takes a target size in bytes and a seed, uses only its own
``random.Random(seed)``, and returns the same bytes on every run and every
Python version.  A stream always ends with a complete event, so all parsers
see the same events whatever they do at end of stream.

Workloads
---------
``llm``           ``data: {small JSON}`` events, as chat completion APIs send
                  (OpenAI's ``chat.completion.chunk``), ending in ``[DONE]``.
``llm_crlf``      the same with CRLF line endings.
``large_json``    single-line JSON documents of 10-100 KB, one per event.
``multiline``     events with ``event:``, ``id:`` and several ``data:`` lines.
``multiline_crlf`` the same with CRLF line endings.
``heartbeat``     heartbeat comments (``: ping``) mixed with events, several
                  comments between events and some inside event blocks.

Chunkings
---------
``whole`` (one chunk), ``64KiB``, ``1KiB``, ``random`` (seeded sizes of 1 to
200 bytes) and ``1byte``, which feeds a prefix of the stream (cut at an event
boundary, see :func:`prefix`) one byte at a time.
"""

from __future__ import annotations

import json
import random
from typing import Callable, Dict, List

__all__ = (
    "CHUNKINGS",
    "WORKLOADS",
    "chunk",
    "large_event",
    "make",
    "prefix",
)

_WORDS = (  # noqa: SIM905 - a word list reads best as text
    "the of and to in is that it for on was with as be at by this had not are but from or "
    "have an they which one you were all we her she there would their will when who him "
    "been has more if no out so said what up its about than into them can only other new "
    "some could time these two may then do first any my now such like our over man me "
    "even most made after also did many before must through back years where much your "
    "way well down should because each just those people how too little state good very "
    "make world still own see men work long get here between both life being under never"
).split()
# Tokens as a model emits them: mostly words with a leading space, some
# punctuation, newlines and non-ASCII text (multi-byte UTF-8 in the stream).
_EXTRA_TOKENS = (
    ".",
    ",",
    "\n\n",
    "\n",
    ":",
    " caf\u00e9",
    " na\u00efve",
    " \u00fcber",
    " \u4f60\u597d",
)
_EXTRA_TOKENS += (" \U0001f600", "```", "python", " 42", "'s", " \u2014")


def _token(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(_EXTRA_TOKENS)
    word = rng.choice(_WORDS)
    return (" " + word) if rng.random() < 0.85 else word.capitalize()


def _llm(size: int, seed: int, eol: str) -> bytes:
    rng = random.Random(seed)
    parts: List[str] = []
    total = 0
    created = 1_700_000_000 + rng.randrange(10_000_000)
    completion = 0
    index = 0
    while total < size:
        completion_id = f"chatcmpl-{rng.getrandbits(96):024x}"
        completion += 1
        # One completion: a role chunk, token chunks, a finish chunk, [DONE].
        deltas: List[Dict[str, object]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": _token(rng)} for _ in range(rng.randrange(50, 400))]
        for number, delta in enumerate([*deltas, {}]):
            last = number == len(deltas)
            message = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created + completion,
                "model": "gpt-4o-mini-2024-07-18",
                "system_fingerprint": "fp_0ba0d124f1",
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": "stop" if last else None,
                    }
                ],
            }
            # Raw UTF-8, not \u escapes, as the chat completion APIs send it.
            body = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
            text = "data: " + body + eol + eol
            parts.append(text)
            total += len(text.encode("utf-8"))
            index += 1
        done = "data: [DONE]" + eol + eol
        parts.append(done)
        total += len(done)
    return "".join(parts).encode("utf-8")


def _json_document(rng: random.Random, target: int) -> str:
    """One JSON object, on one line, of about ``target`` characters."""
    items: List[object] = []
    length = 0
    while length < target:
        item = {
            "id": rng.getrandbits(40),
            "name": " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 6))),
            "score": round(rng.random() * 1000, 3),
            "tags": [rng.choice(_WORDS) for _ in range(rng.randrange(0, 5))],
            "active": rng.random() < 0.5,
            "note": None if rng.random() < 0.7 else "caf\u00e9 \u2603 \u00e0 la carte",
        }
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        items.append(item)
        length += len(text) + 1
    return json.dumps(
        {"type": "snapshot", "version": rng.randrange(1 << 20), "items": items},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _large_json(size: int, seed: int, eol: str) -> bytes:
    rng = random.Random(seed)
    parts: List[bytes] = []
    total = 0
    while total < size:
        document = _json_document(rng, rng.randrange(10_000, 100_000))
        event = ("data: " + document + eol + eol).encode("utf-8")
        parts.append(event)
        total += len(event)
    return b"".join(parts)


def _multiline(size: int, seed: int, eol: str) -> bytes:
    rng = random.Random(seed)
    kinds = ("update", "delete", "create", "progress", "log")
    parts: List[str] = []
    total = 0
    number = 0
    while total < size:
        number += 1
        lines = ["event: " + rng.choice(kinds), f"id: {number}"]
        for _ in range(rng.randrange(2, 7)):
            words = [rng.choice(_WORDS) for _ in range(rng.randrange(3, 14))]
            lines.append("data: " + " ".join(words))
        rng.shuffle(lines)  # the spec allows fields in any order
        text = eol.join(lines) + eol + eol
        parts.append(text)
        total += len(text)
    return "".join(parts).encode("utf-8")


def _heartbeat(size: int, seed: int, eol: str) -> bytes:
    rng = random.Random(seed)
    parts: List[str] = []
    total = 0
    number = 0
    while total < size:
        for _ in range(rng.randrange(1, 5)):
            if rng.random() < 0.5:
                ping = ": ping" + eol + eol
            else:
                day, minute, second = rng.randrange(1, 29), rng.randrange(60), rng.randrange(60)
                micro = rng.randrange(1_000_000)
                ping = f": ping - 2024-05-{day:02d} 12:{minute:02d}:{second:02d}.{micro:06d}+00:00"
                ping += eol + eol
            parts.append(ping)
            total += len(ping)
        number += 1
        payload = json.dumps(
            {"seq": number, "value": rng.random(), "status": rng.choice(_WORDS)},
            separators=(",", ":"),
        )
        text = "data: " + payload + eol + eol
        if rng.random() < 0.2:
            text = ":keep-alive" + eol + text
        parts.append(text)
        total += len(text)
    return "".join(parts).encode("utf-8")


Generator = Callable[[int, int], bytes]

#: name -> generator(size, seed)
WORKLOADS: Dict[str, Generator] = {
    "llm": lambda size, seed: _llm(size, seed, "\n"),
    "llm_crlf": lambda size, seed: _llm(size, seed, "\r\n"),
    "large_json": lambda size, seed: _large_json(size, seed, "\n"),
    "multiline": lambda size, seed: _multiline(size, seed, "\n"),
    "multiline_crlf": lambda size, seed: _multiline(size, seed, "\r\n"),
    "heartbeat": lambda size, seed: _heartbeat(size, seed, "\n"),
}

CHUNKINGS = ("whole", "64KiB", "1KiB", "random", "1byte")


def make(name: str, size: int, seed: int = 2024) -> bytes:
    """The workload ``name`` of at least ``size`` bytes."""
    return WORKLOADS[name](size, seed)


def prefix(stream: bytes, size: int) -> bytes:
    """The stream cut after the last event that ends within ``size`` bytes.

    Used for 1-byte chunking, which is too slow for some peers on the whole
    stream.  At least one event is kept, however large.
    """
    if len(stream) <= size:
        return stream
    for end in (b"\r\n\r\n", b"\n\n"):
        cut = stream.rfind(end, 0, size)
        if cut > 0:
            return stream[: cut + len(end)]
    cut = stream.find(b"\n\n")
    return stream if cut < 0 else stream[: cut + 2]


def chunk(stream: bytes, chunking: str, seed: int = 7) -> List[bytes]:
    """Cut ``stream`` into the chunks a network might deliver."""
    if chunking == "whole":
        return [stream]
    if chunking in ("64KiB", "1KiB", "1byte"):
        size = {"64KiB": 65536, "1KiB": 1024, "1byte": 1}[chunking]
        return [stream[i : i + size] for i in range(0, len(stream), size)]
    if chunking == "random":
        rng = random.Random(seed)
        chunks: List[bytes] = []
        position = 0
        while position < len(stream):
            step = rng.randint(1, 200)
            chunks.append(stream[position : position + step])
            position += step
        return chunks
    raise ValueError(f"unknown chunking {chunking!r}")


def large_event(size: int, seed: int = 11) -> bytes:
    """One event whose single ``data:`` line holds ``size`` bytes of JSON."""
    rng = random.Random(seed)
    document = _json_document(rng, size)
    body = document.encode("utf-8")
    if len(body) > size:
        # Cut inside the document (still one line; JSON validity is irrelevant
        # to the parsers) at a character boundary.
        body = body[:size].decode("utf-8", "ignore").encode("utf-8")
    return b"data: " + body + b"\n\n"
