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
from rag_service.answering import build_answerer
from rag_service.answering.base import ChatTurn
from rag_service.answering.service import AskResult, ask_events, final_result
from rag_service.api.deps import Caller, State
from rag_service.api.errors import error_response
from rag_service.api.schemas import ChatCompletionRequest, ChatMessage
from rag_service.api.streaming import take_first
from rag_service.errors import InvalidInputError
from rag_service.retrieval import SearchOptions

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models")
def list_models(state: State, caller: Caller) -> dict:
    infos = [i for i in collections_service.list_collections(state.runtime) if caller.can_see(i.name)]
    return {
        "object": "list",
        "data": [{"id": i.name, "object": "model", "created": 0, "owned_by": "rag-service"} for i in infos],
    }


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):  # content parts: keep the text ones
        return " ".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")
    return ""


def _split(messages: list[ChatMessage]) -> tuple[str, list[ChatTurn]]:
    turns = [ChatTurn(m.role, _text(m)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise InvalidInputError("the last message must be a non-empty user message: the question")
    return turns[-1].content, turns[:-1]


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


@router.post("/chat/completions")
def chat_completions(body: ChatCompletionRequest, state: State, caller: Caller) -> Any:
    caller.require(body.model)
    question, history = _split(body.messages)
    runtime = state.runtime
    answerer = build_answerer(runtime.settings, None, {"max_tokens": body.max_tokens, "temperature": body.temperature})
    events = ask_events(runtime, body.model, question, SearchOptions.from_settings(runtime), answerer, history)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        return EventSourceResponse(iterate_in_threadpool(_stream(take_first(events), body.model, completion_id)))
    result = final_result(events)
    if result.error:
        return error_response(503, "backend_unavailable", result.error)
    return _completion(result, body.model, completion_id)
