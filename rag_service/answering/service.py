"""A question's path after the front door: condense → retrieve → check the evidence → fit the context →
answer → check citations. A question the passages cannot answer is declined here, before any backend runs.

The CLI's `ask` and the API's `/api/ask` and `/v1/chat/completions` all consume `ask_events`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from rag_service.answering.base import Answerer, AnswerRequest, ChatTurn, not_found_answer
from rag_service.answering.citations import (
    ChunkText,
    Citation,
    build_citations,
    cited_numbers,
    is_decline,
    remove_invalid_markers,
)
from rag_service.answering.condense import refers_back
from rag_service.answering.evidence import Evidence, EvidenceThresholds, assess, term_weights
from rag_service.answering.prompt import fit_passages
from rag_service.collections import find_collection
from rag_service.db.models import Chunk
from rag_service.errors import BackendUnavailableError
from rag_service.retrieval import Hit, SearchOptions, retrieve
from rag_service.runtime import Runtime
from rag_service.settings import Settings

CONVERSATION_PASSAGES = 3  # of the earlier question's passages, whose documents a follow-up prefers


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
    evidence: Evidence | None = None
    uncited: bool = False  # answered, but no valid [n] citation: the answer is not grounded in a passage

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
        if self.evidence is not None:
            data["evidence"] = self.evidence.to_dict()
        if self.answered:
            data["uncited"] = self.uncited
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
    options = conversation_options(runtime, collection, question, standalone, history, options)
    hits = retrieve(runtime, collection, standalone, options)
    with runtime.sessions() as session:
        indexes = runtime.indexes.get(find_collection(session, collection))
    runtime.indexes.ensure_lexical(indexes)
    frequencies = indexes.lexical.document_frequencies()
    weights = term_weights(standalone, frequencies, max(indexes.lexical.size, 1))
    lexical_first = next((h.document_id for h in hits if h.lexical_score == 1.0), None)
    thresholds = evidence_thresholds(runtime.settings)
    evidence = assess(standalone, hits, weights, frequencies, thresholds, lexical_first)
    passages = fit_passages(
        [dataclasses.replace(hit) for hit in hits], runtime.settings.context_token_budget, indexes.embedder.count_tokens
    )
    result = AskResult(question, standalone, "", False, answerer.name, hits=hits, evidence=evidence)
    pieces: list[str] = []
    if not passages or not evidence.answerable:
        declined = not_found_answer(question)
        pieces.append(declined)
        yield "token", declined
    else:
        request = AnswerRequest(standalone, passages, history, asked=question, term_weights=weights)
        try:
            for piece in answerer.stream(request):
                pieces.append(piece)
                yield "token", piece
        except BackendUnavailableError as exc:
            result.error = str(exc)
            result.answer = "".join(pieces)
            yield "error", result.error
            yield "done", result
            return
    result.answer = remove_invalid_markers("".join(pieces).strip(), len(passages))
    result.answered = bool(result.answer) and not is_decline(result.answer)
    if result.answered:
        result.citations = build_citations(result.answer, passages, chunk_texts(runtime, result.answer, passages))
        result.uncited = not result.citations
    yield "citations", result.citations
    yield "done", result


def conversation_options(
    runtime: Runtime, collection: str, question: str, standalone: str, history: list[ChatTurn], options: SearchOptions
) -> SearchOptions:
    """A follow-up (a question the answerer had to condense) usually stays on the pages its conversation was
    about: the documents of the top passages for the earlier question that stood on its own are preferred.
    The subject words a condenser adds do not always lead back there ("quickest, share, files, quick test")."""
    earlier = [turn.content for turn in history if turn.role == "user" and turn.content.strip()]
    if standalone == question or not earlier or not runtime.settings.follow_up_document_bonus:
        return options
    anchor = next((q for q in reversed(earlier) if not refers_back(q)), earlier[0])
    plain = dataclasses.replace(options, prefer_documents=frozenset(), top_k=CONVERSATION_PASSAGES)
    documents = frozenset(hit.document_id for hit in retrieve(runtime, collection, anchor, plain))
    return dataclasses.replace(
        options, prefer_documents=documents, prefer_bonus=runtime.settings.follow_up_document_bonus
    )


def evidence_thresholds(settings: Settings) -> EvidenceThresholds:
    return EvidenceThresholds(settings.evidence_min_dense, settings.evidence_min_coverage)


def chunk_texts(runtime: Runtime, answer: str, passages: list[Hit]) -> dict[int, ChunkText]:
    """The stored chunks of the passages an answer cites, to place each quoted excerpt on its exact lines."""
    ids = [cid for n in cited_numbers(answer) if 1 <= n <= len(passages) for cid in passages[n - 1].chunk_ids]
    if not ids:
        return {}
    with runtime.sessions() as session:
        rows = session.execute(
            select(Chunk.id, Chunk.text, Chunk.start_line, Chunk.page, Chunk.heading_path).where(Chunk.id.in_(ids))
        ).all()
    return {row.id: ChunkText(row.text, row.start_line, row.page, row.heading_path) for row in rows}


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
