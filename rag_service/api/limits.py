"""Request bounds from the settings: checked on every ask, search and chat completion, and written into
/openapi.json so that the schema promises exactly what the server accepts.

The request models carry no maximum of their own for these fields: the settings are the one place."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag_service.api.errors import error_response
from rag_service.errors import ServiceError
from rag_service.settings import Settings

T = TypeVar("T")
MAX_CONTENT_PARTS = 10  # OpenAI-style content parts in one chat message


class LimitError(ServiceError):
    """A request over a configured bound: a validation error, like any other schema violation."""

    code = "validation_error"
    status = 422


class AskTimeoutError(ServiceError):
    code = "timeout"
    status = 504


def _check_length(what: str, text: str, limit: int, setting: str) -> None:
    if len(text) > limit:
        raise LimitError(f"{what}: {len(text)} characters, over the limit of {limit} ({setting})")


def check_question(settings: Settings, question: str, history: list[str]) -> None:
    """/api/ask and /api/search: the question, the number of earlier turns and each one's length."""
    _check_length("question", question, settings.max_question_chars, "RAG_MAX_QUESTION_CHARS")
    if len(history) > settings.max_history_turns:
        raise LimitError(
            f"history: {len(history)} turns, over the limit of {settings.max_history_turns} (RAG_MAX_HISTORY_TURNS)"
        )
    for n, turn in enumerate(history):
        _check_length(f"history.{n}.content", turn, settings.max_turn_chars, "RAG_MAX_TURN_CHARS")


def check_chat(settings: Settings, messages: list[list[str]]) -> None:
    """/v1/chat/completions: as many messages as an ask's turns plus its question, each text (a message's
    content, or each of its at most MAX_CONTENT_PARTS parts) bounded like a question."""
    limit = settings.max_history_turns + 1
    if len(messages) > limit:
        raise LimitError(f"messages: {len(messages)}, over the limit of {limit} (RAG_MAX_HISTORY_TURNS + 1)")
    for n, texts in enumerate(messages):
        for text in texts:
            _check_length(f"messages.{n}.content", text, settings.max_question_chars, "RAG_MAX_QUESTION_CHARS")


def _component(schema: dict[str, Any], name: str) -> list[dict[str, Any]]:
    components = schema.get("components", {}).get("schemas", {})
    return [value for key, value in components.items() if key == name or key.startswith(f"{name}-")]


def apply_to_openapi(schema: dict[str, Any], settings: Settings) -> None:
    """Write the configured bounds into the generated schema (request models, input variants)."""

    def put(model: str, field: str, **bounds: int) -> None:
        for component in _component(schema, model):
            prop = component.get("properties", {}).get(field)
            if prop is None:
                continue
            targets = [prop, *prop.get("anyOf", [])]
            for target in targets:
                if target.get("type") == "string" and "maxLength" in bounds:
                    target["maxLength"] = bounds["maxLength"]
                if target.get("type") == "array" and "maxItems" in bounds:
                    target["maxItems"] = bounds["maxItems"]

    put("AskRequest", "question", maxLength=settings.max_question_chars)
    put("AskRequest", "history", maxItems=settings.max_history_turns)
    put("Turn", "content", maxLength=settings.max_turn_chars)
    put("SearchRequest", "query", maxLength=settings.max_question_chars)
    put("ChatCompletionRequest", "messages", maxItems=settings.max_history_turns + 1)
    put("ChatMessage", "content", maxLength=settings.max_question_chars)
    put("ContentPart", "text", maxLength=settings.max_question_chars)


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413) before any route sees them, counting what arrives rather
    than trusting the Content-Length; `exempt(path)` names routes with limits of their own (uploads). Bodies
    within the limit are read here and handed on whole, as the JSON routes would read them anyway."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Callable[[str], bool]) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(parts), "more_body": False}
            return await receive()  # after the body: disconnects, which streaming responses listen for

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over the limit of {self.limit} bytes (RAG_MAX_REQUEST_BODY_MB)"
        await error_response(413, "too_large", message)(scope, receive, send)


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
