"""The bounds a caller's request is held to: question and history lengths, and the wall clock of an answer.

Every front door (REST, the OpenAI-compatible endpoint, MCP) builds `AskLimits.from_settings` into the request
it hands to the service; the CLI's operator is not bounded (`UNBOUNDED`). Exceeding one is a `LimitError`
(422 over HTTP, a tool error over MCP) naming the field, its length and the setting to change.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from rag_service.errors import ServiceError
from rag_service.settings import Settings

T = TypeVar("T")


class LimitError(ServiceError):
    """A request over a configured bound: a validation error, like any other schema violation."""

    code = "validation_error"
    status = 422


class AskTimeoutError(ServiceError):
    code = "timeout"
    status = 504


@dataclass(frozen=True)
class AskLimits:
    """None: not bounded here (the operator at a terminal; the OpenAI door bounds its own message format)."""

    question_chars: int | None = None
    history_turns: int | None = None
    turn_chars: int | None = None
    timeout_seconds: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AskLimits:
        return cls(
            question_chars=settings.max_question_chars,
            history_turns=settings.max_history_turns,
            turn_chars=settings.max_turn_chars,
            timeout_seconds=settings.ask_timeout_seconds,
        )


UNBOUNDED = AskLimits()


def _check_length(what: str, text: str, limit: int, setting: str) -> None:
    if len(text) > limit:
        raise LimitError(f"{what}: {len(text)} characters, over the limit of {limit} ({setting})")


def check_ask(limits: AskLimits, question: str, history: list[str], field: str = "question") -> None:
    """The question (named as the caller's request names it: `question`, or `query` for a search), the number
    of earlier turns and each one's length."""
    if limits.question_chars is not None:
        _check_length(field, question, limits.question_chars, "RAG_MAX_QUESTION_CHARS")
    if limits.history_turns is not None and len(history) > limits.history_turns:
        raise LimitError(
            f"history: {len(history)} turns, over the limit of {limits.history_turns} (RAG_MAX_HISTORY_TURNS)"
        )
    if limits.turn_chars is not None:
        for n, turn in enumerate(history):
            _check_length(f"history.{n}.content", turn, limits.turn_chars, "RAG_MAX_TURN_CHARS")


def check_chat(settings: Settings, messages: list[list[str]]) -> None:
    """/v1/chat/completions: as many messages as an ask's turns plus its question, each text (a message's
    content, or each of its content parts) bounded like a question."""
    limit = settings.max_history_turns + 1
    if len(messages) > limit:
        raise LimitError(f"messages: {len(messages)}, over the limit of {limit} (RAG_MAX_HISTORY_TURNS + 1)")
    for n, texts in enumerate(messages):
        for text in texts:
            _check_length(f"messages.{n}.content", text, settings.max_question_chars, "RAG_MAX_QUESTION_CHARS")


def with_deadline(events: Iterator[T], seconds: float) -> Iterator[T]:
    """The events of a generator run in a thread of its own, until `seconds` have passed since the call: then
    AskTimeoutError, and the generator is told to stop at its next step (a thread cannot be killed)."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in events:
                items.put(("item", item))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, which raises it in the request's thread
            items.put(("raise", exc))
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            items.put(("end", None))

    threading.Thread(target=pump, name="ask", daemon=True).start()
    deadline = time.monotonic() + seconds

    def consume() -> Iterator[T]:
        try:
            while True:
                try:
                    kind, value = items.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise AskTimeoutError(
                        f"no complete answer within {seconds:g} s (RAG_ASK_TIMEOUT_SECONDS)"
                    ) from None
                if kind == "end":
                    return
                if kind == "raise":
                    raise value
                yield value
        finally:
            stop.set()

    return consume()
