"""Helpers for streamed responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def take_first(events: Iterator[T]) -> Iterator[T]:
    """Run a generator to its first item now, so that errors before streaming starts become an HTTP status
    rather than a stream that breaks off; then hand back an iterator over all its items."""
    first = next(events)

    def chained() -> Iterator[T]:
        yield first
        yield from events

    return chained()
