"""HTTP's side of the request bounds: the configured limits (rag_service/limits.py, checked by every front
door) written into /openapi.json so that the schema promises exactly what the server accepts, and the
request body limit.

The request models carry no maximum of their own for these fields: the settings are the one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag_service.api.errors import error_response
from rag_service.settings import Settings

MAX_CONTENT_PARTS = 10  # OpenAI-style content parts in one chat message


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
