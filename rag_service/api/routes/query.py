"""Search and ask: the same retrieval path as the CLI, over HTTP; ask streams as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from rag_service import audit
from rag_service.answering import LlmPolicy, build_answerer
from rag_service.answering.availability import backend_report
from rag_service.answering.base import ChatTurn
from rag_service.answering.reader import reader_status
from rag_service.answering.request import AskRequest
from rag_service.answering.service import ask_events, final_result
from rag_service.api import schemas
from rag_service.api.deps import Caller, State
from rag_service.api.errors import error_response
from rag_service.api.schemas import AnswerBackends, AskResponse, RetrievalParams, SearchRequest, SearchResponse
from rag_service.api.streaming import take_first
from rag_service.embedders import EMBEDDERS
from rag_service.limits import AskLimits, AskTimeoutError, check_ask
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
    check_ask(AskLimits.from_settings(state.runtime.settings), body.query, [], field="query")
    hits = retrieve(state.runtime, body.collection, body.query, search_options(state.runtime, body))
    audit.record(
        state.runtime,
        caller.actor,
        "search",
        collection=body.collection,
        details={"hits": len(hits), "chunk_ids": [hit.chunk_id for hit in hits]},
        private={"query": body.query},
    )
    return {"hits": [hit.to_dict() for hit in hits]}


@router.get("/backends", response_model=AnswerBackends)
def backends(state: State) -> dict:
    """What the UI may offer: the answer backends a caller may choose that work now (`backends`), each one's
    state with the reason when it is not usable (`details`), embedders, and whether a key is needed."""
    settings = state.runtime.settings
    report = backend_report(settings, LlmPolicy.from_settings(settings))
    return {
        "default": settings.answerer,
        "backends": [status.name for status in report if status.usable],
        "details": [status.to_dict() for status in report],
        "embedders": list(EMBEDDERS),
        "auth_required": state.keys.enabled,
        "reader": reader_status(settings).to_dict(),
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


def _sse_until(events: Iterator[tuple[str, Any]]) -> Iterator[dict]:
    """The stream, ended by an `error` event when the answer takes longer than RAG_ASK_TIMEOUT_SECONDS."""
    try:
        yield from _sse(events)
    except AskTimeoutError as exc:
        yield {"event": "error", "data": json.dumps({"code": exc.code, "message": str(exc)})}


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when stream is true"}},
)
def ask(body: schemas.AskRequest, state: State, caller: Caller) -> Any:
    """With a `conversation_id`, the turn is saved in that conversation (the result names it: `turn_id`), and
    the conversation's earlier turns are the history when the request sends none. A conversation the caller may
    not see (another collection's, another person's private one) is a 404; another person's shared one may be
    read but not continued (403)."""
    caller.require(body.collection)
    runtime = state.runtime
    llm = body.llm.model_dump(exclude_none=True) if body.llm else {}
    policy = LlmPolicy.from_settings(runtime.settings)
    request = AskRequest(
        collection=body.collection,
        question=body.question,
        answerer=build_answerer(runtime.settings, llm.pop("backend", None), llm, policy=policy),
        options=search_options(runtime, body),
        history=[ChatTurn(t.role, t.content) for t in body.history],
        conversation_id=body.conversation_id,
        viewer=caller.viewer,
        limits=AskLimits.from_settings(runtime.settings),
        actor=caller.actor,
    )
    events = ask_events(runtime, request)
    if body.stream:
        return EventSourceResponse(iterate_in_threadpool(_sse_until(take_first(events))))
    result = final_result(events)
    if result.error:
        return error_response(503, "backend_unavailable", result.error, **{"hits": result.to_dict()["hits"]})
    return JSONResponse(result.to_dict())
