"""OpenAI-compatible endpoints: collections are models; a chat completion is RAG over that collection.

The official `openai` client works unchanged; citations ride along in an extra `citations` field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from rag_service import collections as collections_service
from rag_service.answering import LlmPolicy, build_answerer
from rag_service.answering.base import ChatTurn
from rag_service.answering.request import AskRequest
from rag_service.answering.service import AskResult, ask_events, final_result
from rag_service.api.deps import Caller, State
from rag_service.api.errors import error_response
from rag_service.api.schemas import ChatCompletionRequest, ChatMessage
from rag_service.api.streaming import take_first
from rag_service.errors import InvalidInputError
from rag_service.limits import AskLimits, AskTimeoutError, check_chat
from rag_service.retrieval import SearchOptions

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models")
def list_models(state: State, caller: Caller) -> dict:
    infos = [i for i in collections_service.list_collections(state.runtime) if caller.can_see(i.name)]
    return {
        "object": "list",
        "data": [{"id": i.name, "object": "model", "created": 0, "owned_by": "rag-service"} for i in infos],
    }


def _texts(message: ChatMessage) -> list[str]:
    if isinstance(message.content, str):
        return [message.content]
    if isinstance(message.content, list):  # content parts: keep the text ones
        return [p.text or "" for p in message.content if p.type == "text"]
    return []


def _text(message: ChatMessage) -> str:
    return " ".join(_texts(message))


def _split(messages: list[ChatMessage]) -> tuple[str, list[ChatTurn]]:
    """The question (the last user message with text, as the schema's `contains` says) and the turns before it;
    system, tool and developer messages, and anything after the question, are not used."""
    turns = [ChatTurn(m.role, _text(m)) for m in messages if m.role in ("user", "assistant")]
    asked = [i for i, turn in enumerate(turns) if turn.role == "user" and turn.content.strip()]
    if not asked:
        raise InvalidInputError("no question: the conversation needs a user message with text")
    return turns[asked[-1]].content, turns[: asked[-1]]


def _completion(result: AskResult, model: str, completion_id: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.to_dict() for c in result.citations],
        "answered": result.answered,
        "uncited": result.uncited,
    }


def _chunk(completion_id: str, model: str, delta: dict, finish: str | None, **extra: Any) -> dict:
    # No `event:` line: OpenAI clients read unnamed events as completion chunks.
    return {
        "data": json.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        ),
    }


def _stream(events: Iterator[tuple[str, Any]], model: str, completion_id: str) -> Iterator[dict]:
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""}, None)
    for kind, value in events:
        if kind == "token":
            yield _chunk(completion_id, model, {"content": value}, None)
        elif kind == "error":
            error = {"code": "backend_unavailable", "message": value, "type": "backend_unavailable"}
            yield {"data": json.dumps({"error": error})}
        elif kind == "done":
            citations = [c.to_dict() for c in value.citations]
            yield _chunk(completion_id, model, {}, "stop", citations=citations, answered=value.answered)
    yield {"data": "[DONE]"}


def _stream_until(events: Iterator[tuple[str, Any]], model: str, completion_id: str) -> Iterator[dict]:
    """The stream, ended by an error chunk when the answer takes longer than RAG_ASK_TIMEOUT_SECONDS."""
    try:
        yield from _stream(events, model, completion_id)
    except AskTimeoutError as exc:
        yield {"data": json.dumps({"error": {"code": exc.code, "message": str(exc), "type": exc.code}})}
        yield {"data": "[DONE]"}


@router.post(
    "/chat/completions",
    responses={
        200: {
            "content": {"application/json": {}, "text/event-stream": {}},
            "description": "A chat completion, or its chunks as Server-Sent Events when stream is true",
        }
    },
)
def chat_completions(body: ChatCompletionRequest, state: State, caller: Caller) -> Any:
    caller.require(body.model)
    runtime = state.runtime
    check_chat(runtime.settings, [_texts(m) for m in body.messages])
    question, history = _split(body.messages)
    options = {"max_tokens": body.max_tokens, "temperature": body.temperature}
    request = AskRequest(
        collection=body.model,
        question=question,
        answerer=build_answerer(runtime.settings, None, options, policy=LlmPolicy.from_settings(runtime.settings)),
        options=SearchOptions.from_settings(runtime),
        history=history,
        # The messages were bounded above, in their own format; the wall clock is the caller's as on /api/ask.
        limits=AskLimits(timeout_seconds=runtime.settings.ask_timeout_seconds),
        actor=caller.actor,
    )
    events = ask_events(runtime, request)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        return EventSourceResponse(iterate_in_threadpool(_stream_until(take_first(events), body.model, completion_id)))
    result = final_result(events)
    if result.error:
        return error_response(503, "backend_unavailable", result.error)
    return _completion(result, body.model, completion_id)
