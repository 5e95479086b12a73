"""Search and ask: the same retrieval path as the CLI, over HTTP; ask streams as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from rag_service.answering import ANSWERERS, build_answerer
from rag_service.answering.base import ChatTurn
from rag_service.answering.service import ask_events, final_result
from rag_service.api.deps import Caller, State
from rag_service.api.errors import error_response
from rag_service.api.schemas import (
    AnswerBackends,
    AskRequest,
    AskResponse,
    RetrievalParams,
    SearchRequest,
    SearchResponse,
)
from rag_service.api.streaming import take_first
from rag_service.embedders import EMBEDDERS
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime

router = APIRouter(prefix="/api", tags=["query"])


def search_options(runtime: Runtime, body: RetrievalParams) -> SearchOptions:
    return SearchOptions.from_settings(
        runtime, top_k=body.top_k, path_filter=body.filter, min_score=body.min_score, mode=body.mode
    )


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, state: State, caller: Caller) -> dict:
    caller.require(body.collection)
    hits = retrieve(state.runtime, body.collection, body.query, search_options(state.runtime, body))
    return {"hits": [hit.to_dict() for hit in hits]}


@router.get("/backends", response_model=AnswerBackends)
def backends(state: State) -> dict:
    """What the UI may offer: answer backends, embedders, and whether a key is needed."""
    return {
        "default": state.runtime.settings.answerer,
        "backends": list(ANSWERERS),
        "embedders": list(EMBEDDERS),
        "auth_required": state.keys.enabled,
    }


def _sse(events: Iterator[tuple[str, Any]]) -> Iterator[dict]:
    for kind, value in events:
        if kind == "token":
            yield {"event": "token", "data": json.dumps({"text": value})}
        elif kind == "citations":
            yield {"event": "citations", "data": json.dumps([c.to_dict() for c in value])}
        elif kind == "error":
            yield {"event": "error", "data": json.dumps({"code": "backend_unavailable", "message": value})}
        elif kind == "done":
            yield {"event": "done", "data": json.dumps(value.to_dict())}


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when stream is true"}},
)
def ask(body: AskRequest, state: State, caller: Caller) -> Any:
    caller.require(body.collection)
    runtime = state.runtime
    llm = body.llm.model_dump(exclude_none=True) if body.llm else {}
    answerer = build_answerer(runtime.settings, llm.pop("backend", None), llm)
    history = [ChatTurn(t.role, t.content) for t in body.history]
    events = ask_events(runtime, body.collection, body.question, search_options(runtime, body), answerer, history)
    if body.stream:
        return EventSourceResponse(iterate_in_threadpool(_sse(take_first(events))))
    result = final_result(events)
    if result.error:
        return error_response(503, "backend_unavailable", result.error, **{"hits": result.to_dict()["hits"]})
    return JSONResponse(result.to_dict())
