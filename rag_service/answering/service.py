"""A question's path after the front door: condense → retrieve → fit the context → answer → check citations.

The CLI's `ask` and the API's `/api/ask` and `/v1/chat/completions` all consume `ask_events`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rag_service.answering.base import NOT_FOUND_ANSWER, Answerer, AnswerRequest, ChatTurn
from rag_service.answering.citations import Citation, build_citations, is_decline, remove_invalid_markers
from rag_service.answering.prompt import fit_passages
from rag_service.collections import find_collection
from rag_service.errors import BackendUnavailableError
from rag_service.retrieval import Hit, SearchOptions, retrieve
from rag_service.runtime import Runtime


@dataclass
class AskResult:
    question: str
    standalone_question: str
    answer: str
    answered: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "answer": self.answer,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits],
            "question": self.question,
            "standalone_question": self.standalone_question,
            "backend": self.backend,
        }
        if self.error:
            data["error"] = self.error
        return data


def ask_events(
    runtime: Runtime,
    collection: str,
    question: str,
    options: SearchOptions,
    answerer: Answerer,
    history: list[ChatTurn] | None = None,
) -> Iterator[tuple[str, Any]]:
    """("token", str)*, then ("citations", [Citation]) or ("error", message), then ("done", AskResult)."""
    history = history or []
    standalone = answerer.condense(question, history)
    hits = retrieve(runtime, collection, standalone, options)
    with runtime.sessions() as session:
        embedder = runtime.indexes.get(find_collection(session, collection)).embedder
    passages = fit_passages(
        [dataclasses.replace(hit) for hit in hits], runtime.settings.context_token_budget, embedder.count_tokens
    )
    result = AskResult(question, standalone, "", False, answerer.name, hits=hits)
    pieces: list[str] = []
    if not passages:
        pieces.append(NOT_FOUND_ANSWER)
        yield "token", NOT_FOUND_ANSWER
    else:
        try:
            for piece in answerer.stream(AnswerRequest(standalone, passages, history, asked=question)):
                pieces.append(piece)
                yield "token", piece
        except BackendUnavailableError as exc:
            result.error = str(exc)
            result.answer = "".join(pieces)
            yield "error", result.error
            yield "done", result
            return
    result.answer = remove_invalid_markers("".join(pieces).strip(), len(passages))
    result.answered = bool(result.answer) and result.answer != NOT_FOUND_ANSWER and not is_decline(result.answer)
    result.citations = build_citations(result.answer, passages) if result.answered else []
    yield "citations", result.citations
    yield "done", result


def final_result(events: Iterator[tuple[str, Any]]) -> AskResult:
    """Run the events to the end; the result (answer, citations, hits, any backend error)."""
    for kind, value in events:
        if kind == "done":
            return value
    raise RuntimeError("ask_events ended without a result")


def ask(
    runtime: Runtime,
    collection: str,
    question: str,
    options: SearchOptions,
    answerer: Answerer,
    history: list[ChatTurn] | None = None,
) -> AskResult:
    return final_result(ask_events(runtime, collection, question, options, answerer, history))
