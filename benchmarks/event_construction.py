# SPDX-License-Identifier: MIT
"""What one event object costs to build, for each way of representing it.

The decoder builds one object per event on its hottest path, so the choice of
representation shows in every benchmark.  This script times building a
four-field record (data, event, id, retry) each candidate way, the way the
decoder would (positional values already at hand, no validation), and prints
nanoseconds per object.  ``sse_core.Event`` is a tuple subclass built with
``tuple.__new__``, the first row.

Run: ``python benchmarks/event_construction.py [--number N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import timeit
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

# -- the candidates ----------------------------------------------------------


class TupleEvent(Tuple[str, str, Optional[str], Optional[int]]):
    """A tuple subclass, as sse_core.Event: built with tuple.__new__."""

    __slots__ = ()


class NamedEvent(NamedTuple):
    data: str
    event: str
    id: Optional[str]
    retry: Optional[int]


class FrozenSlotted:
    """Immutable slotted class: __setattr__ refuses, so object.__setattr__ fills it."""

    __slots__ = ("data", "event", "id", "retry")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("immutable")


_set = object.__setattr__


def _frozen_slotted(data: str, event: str, id: Optional[str], retry: Optional[int]) -> Any:
    obj = FrozenSlotted.__new__(FrozenSlotted)
    _set(obj, "data", data)
    _set(obj, "event", event)
    _set(obj, "id", id)
    _set(obj, "retry", retry)
    return obj


class MutableSlotted:
    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, data: str, event: str, id: Optional[str], retry: Optional[int]) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry


@dataclasses.dataclass(frozen=True)
class FrozenDataclass:
    data: str
    event: str
    id: Optional[str]
    retry: Optional[int]


# Slotted frozen dataclass only exists on 3.10+ (slots=True).
try:
    FrozenSlotsDataclass: Any = dataclasses.dataclass(frozen=True, slots=True)(  # type: ignore[call-overload]
        type("FrozenSlotsDataclass", (), {"__annotations__": dict(FrozenDataclass.__annotations__)})
    )
except TypeError:
    FrozenSlotsDataclass = None


def _candidates() -> List[Tuple[str, Callable[[], Any]]]:
    values = ("hello", "message", "", None)
    data, event, id, retry = values
    tuple_new = tuple.__new__
    candidates: List[Tuple[str, Callable[[], Any]]] = [
        (
            "tuple.__new__(TupleEvent, (...))",
            lambda: tuple_new(TupleEvent, (data, event, id, retry)),
        ),
        ("plain tuple (data, event, id, retry)", lambda: (data, event, id, retry)),
        ("NamedTuple(...)", lambda: NamedEvent(data, event, id, retry)),
        ("NamedTuple._make(values)", lambda: NamedEvent._make(values)),
        ("slotted class via object.__setattr__", lambda: _frozen_slotted(data, event, id, retry)),
        ("slotted mutable class, __init__", lambda: MutableSlotted(data, event, id, retry)),
        ("frozen dataclass", lambda: FrozenDataclass(data, event, id, retry)),
    ]
    if FrozenSlotsDataclass is not None:
        candidates.append(
            ("frozen dataclass, slots=True", lambda: FrozenSlotsDataclass(data, event, id, retry))
        )
    try:
        from sse_core import Event
    except ImportError:
        pass
    else:
        candidates.append(
            ("sse_core.Event(...) (validating)", lambda: Event(data, event, id, retry))
        )
    return candidates


def measure(number: int, repeat: int) -> Dict[str, float]:
    """Best-of-``repeat`` nanoseconds per construction, by candidate."""
    empty = min(timeit.repeat(lambda: None, number=number, repeat=repeat)) / number
    results = {}
    for name, build in _candidates():
        best = min(timeit.repeat(build, number=number, repeat=repeat)) / number
        # Subtract the cost of calling an empty lambda: what is left is the build.
        results[name] = max(best - empty, 0.0) * 1e9
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=200_000, help="constructions per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings; the best is kept")
    args = parser.parse_args(argv)
    print(f"{platform.python_implementation()} {platform.python_version()}: ns per object")
    print(f"(best of {args.repeat} x {args.number}, after subtracting an empty call)")
    results = measure(args.number, args.repeat)
    fastest = min(results.values()) or 1e-9
    width = max(len(name) for name in results)
    for name, ns in sorted(results.items(), key=lambda item: item[1]):
        print(f"  {name:<{width}}  {ns:7.1f} ns  {ns / fastest:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
