"""A question's path after the front door, one step a module, in this order:

1. condense  `condense.standalone_question`      a follow-up rewritten to stand on its own
2. retrieve  `retrieval.retrieve`                 dense + BM25, a follow-up preferring its conversation's
                                                  documents (`follow_ups.follow_up_options`)
3. decide    `decide.decide`                      do the passages answer it, and which go to the answer
4. answer    `compose.compose`                    the backend writes (or the decline is the answer); citations
5. save      `conversations.append_turn`          with a conversation, the result is its next turn
6. audit     `audit.record`                       who asked what, the passages and answer shown (one row)

Every front door (REST `/api/ask`, `/v1/chat/completions`, MCP's `ask`, the CLI's `ask` and `eval`) builds one
`AskRequest` and calls `ask_events` (streaming) or `ask`; none of them calls a step itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rag_service import audit, conversations
from rag_service.answering.base import ChatTurn
from rag_service.answering.citations import Citation
from rag_service.answering.compose import Answer, compose
from rag_service.answering.condense import standalone_question
from rag_service.answering.decide import ANSWERED, DECLINED, decide
from rag_service.answering.evidence import Evidence
from rag_service.answering.follow_ups import follow_up_options
from rag_service.answering.request import AskRequest
from rag_service.limits import check_ask, with_deadline
from rag_service.passages import Hit
from rag_service.retrieval import retrieve
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
    evidence: Evidence | None = None
    uncited: bool = False  # answered, but no valid [n] citation: the answer is not grounded in a passage
    status: str = DECLINED  # answered | partial | declined (answering/decide.py)
    unsupported: list[str] = field(default_factory=list)  # generated sentences no passage supports
    decision: dict[str, Any] = field(default_factory=dict)  # the reader's verdict, when one ran
    conversation_id: int | None = None  # where the result was saved, with the turn's id
    turn_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "answer": self.answer,
            "answered": self.answered,
            "citations": [c.to_dict() for c in self.citations],
            "hits": [h.to_dict() for h in self.hits],
            "question": self.question,
            "standalone_question": self.standalone_question,
            "backend": self.backend,
            "status": self.status,
        }
        if self.decision:
            data["decision"] = self.decision
        if self.unsupported:
            data["unsupported"] = self.unsupported
        if self.evidence is not None:
            data["evidence"] = self.evidence.to_dict()
        if self.answered:
            data["uncited"] = self.uncited
        if self.error:
            data["error"] = self.error
        if self.conversation_id is not None:
            data |= {"conversation_id": self.conversation_id, "turn_id": self.turn_id}
        return data


def ask_events(runtime: Runtime, request: AskRequest) -> Iterator[tuple[str, Any]]:
    """("token", str)*, then ("citations", [Citation]) or ("error", message), then ("done", AskResult).

    The request is checked and its conversation read now, so that a bad request raises before anything streams;
    the steps run as the events are consumed, within the caller's wall clock."""
    check_ask(request.limits, request.question, [turn.content for turn in request.history])
    history = request.history
    if request.conversation_id is not None:
        history = _conversation_history(runtime, request)
    events = _steps(runtime, request, history)
    if request.limits.timeout_seconds is not None:
        events = with_deadline(events, request.limits.timeout_seconds)
    if request.conversation_id is not None:
        events = _saved(runtime, request.conversation_id, events)
    if request.actor is not None:
        events = _audited(runtime, request, request.actor, events)
    return events


def ask(runtime: Runtime, request: AskRequest) -> AskResult:
    return final_result(ask_events(runtime, request))


def final_result(events: Iterator[tuple[str, Any]]) -> AskResult:
    """Run the events to the end; the result (answer, citations, hits, any backend error)."""
    for kind, value in events:
        if kind == "done":
            return value
    raise RuntimeError("ask_events ended without a result")


def _steps(runtime: Runtime, request: AskRequest, history: list[ChatTurn]) -> Iterator[tuple[str, Any]]:
    answerer = request.answerer
    reader = runtime.reader
    standalone = standalone_question(answerer, reader.rewrite if reader else None, request.question, history)
    options = follow_up_options(runtime, request.collection, request.question, standalone, history, request.options)
    hits = retrieve(runtime, request.collection, standalone, options)
    decision = decide(runtime, request.collection, standalone, request.question, hits)
    result = AskResult(request.question, standalone, "", False, answerer.name, hits=hits, evidence=decision.evidence)
    result.decision = decision.to_dict()
    answer = Answer()
    for kind, value in compose(runtime, answerer, request.question, standalone, history, decision):
        if kind == "answer":
            answer = value
        else:
            yield kind, value
    result.answer, result.answered, result.citations = answer.text, answer.answered, answer.citations
    result.unsupported = answer.unsupported
    # an answerer that declines on its own (an LLM: "the documents do not say") has the last word
    result.status = DECLINED if decision.status == ANSWERED and not answer.answered else decision.status
    if answer.error:
        result.error = answer.error
        yield "error", answer.error
    else:
        result.uncited = result.answered and not result.citations
        yield "citations", result.citations
    yield "done", result


def _conversation_history(runtime: Runtime, request: AskRequest) -> list[ChatTurn]:
    """The history sent with the request, else the conversation's own turns; a conversation is one collection's,
    and elsewhere (or outside what the caller may see) it is not found; another person's shared conversation is
    read, not continued (NotAllowedError)."""
    conversation_id = request.conversation_id or 0
    with runtime.sessions() as session:
        conversations.check_continue(session, conversation_id, request.collection, request.viewer)
        return request.history or conversations.history_of(session, conversation_id, runtime.settings.max_history_turns)


def _saved(runtime: Runtime, conversation_id: int, events: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """The events, the result saved as the conversation's next turn before `done` (not when the backend failed:
    there is no answer to keep). Outside the wall clock: an answer that came in time is kept."""
    for kind, value in events:
        if kind == "done":
            if not value.error:
                with runtime.sessions() as session:
                    value.turn_id = conversations.append_turn(session, conversation_id, value.to_dict())
            value.conversation_id = conversation_id
        yield kind, value


def _audited(
    runtime: Runtime, request: AskRequest, actor: str, events: Iterator[tuple[str, Any]]
) -> Iterator[tuple[str, Any]]:
    """The events, the ask recorded in the audit trail before `done` (a consumer may stop reading there); an ask
    that failed (its wall clock, a service error) is recorded as failed, with the reason."""
    try:
        for kind, value in events:
            if kind == "done":
                _record_ask(runtime, request, actor, value)
            yield kind, value
    except Exception as exc:
        details = {"status": "failed", "error": str(exc), "backend": request.answerer.name}
        private = {"question": request.question}
        audit.record(
            runtime,
            actor,
            "ask",
            collection=request.collection,
            target=request.conversation_id,
            details=details,
            private=private,
        )
        raise


def _record_ask(runtime: Runtime, request: AskRequest, actor: str, result: AskResult) -> None:
    details: dict[str, Any] = {
        "status": result.status,
        "backend": result.backend,
        "passages": [{"path": h.path, "chunk_id": h.chunk_id, "location": h.location()} for h in result.hits],
        "cited_chunk_ids": [c.chunk_id for c in result.citations],
    }
    if result.conversation_id is not None:
        details |= {"conversation_id": result.conversation_id, "turn_id": result.turn_id}
    if result.error:
        details["error"] = result.error
    private: dict[str, Any] = {"question": result.question, "answer": result.answer}
    if result.standalone_question != result.question:
        private["standalone_question"] = result.standalone_question
    audit.record(
        runtime,
        actor,
        "ask",
        collection=request.collection,
        target=result.conversation_id,
        details=details,
        private=private,
    )
