"""The answer step: what the user reads, by the decision's status.

- declined: the decline sentence, in the question's language;
- partial: a sentence saying the documents may not answer it; the closest passages are shown beside it;
- answered: the backend writes from the passages the decision kept (the reader's chosen sentence first; the
  extractive answerer quotes it), its markers mapped back to the passages' numbers, then checked: an
  extractive quote is cited as it is, a generated answer is attributed sentence by sentence (attribution.py).
  Where the reader chose a sentence, a generated answer with a sentence no passage supports gives way to the
  reader's quote (with the 1.5B model, half of the generated answers held such a sentence: the #23 note). A
  model that declines keeps its decline: on git-doc it declined 8 of the 17 near misses the reader let through,
  and 8 of 56 answerable questions.
Then the markers become citations with files, lines and pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from rag_service.answering.attribution import Renumbering, attribute
from rag_service.answering.base import Answerer, AnswerRequest, ChatTurn, not_found_answer, partial_answer
from rag_service.answering.citations import (
    ChunkText,
    Citation,
    build_citations,
    cited_numbers,
    is_decline,
    remove_invalid_markers,
)
from rag_service.answering.decide import ANSWERED, PARTIAL, Decision
from rag_service.answering.extractive import ExtractiveAnswerer
from rag_service.db.models import Chunk
from rag_service.errors import BackendUnavailableError
from rag_service.passages import Hit
from rag_service.runtime import Runtime


@dataclass
class Answer:
    text: str = ""
    answered: bool = False
    citations: list[Citation] = field(default_factory=list)
    error: str | None = None  # the backend failed; `text` is what it wrote before
    unsupported: list[str] = field(default_factory=list)  # generated sentences no passage supports


def compose(
    runtime: Runtime, answerer: Answerer, asked: str, standalone: str, history: list[ChatTurn], decision: Decision
) -> Iterator[tuple[str, Any]]:
    """("token", str)* as the answer is written, then ("answer", Answer)."""
    if decision.status != ANSWERED:
        text = partial_answer(asked) if decision.status == PARTIAL else not_found_answer(asked)
        yield "token", text
        yield "answer", Answer(text)
        return
    everything = list(range(1, len(decision.passages) + 1))
    kept = decision.kept if answerer.generative and decision.kept else everything
    given = [decision.passages[n - 1] for n in kept]
    # the extractive answer quotes the reader's chosen sentence; an LLM answer no passage supports falls back to it
    quoted = decision.chosen
    focus = (kept.index(quoted[0]) + 1, quoted[1]) if quoted else None
    request = AnswerRequest(standalone, given, history, asked=asked, term_weights=decision.term_weights, focus=focus)
    renumbering = Renumbering(kept)
    pieces: list[str] = []
    try:
        for piece in answerer.stream(request):
            shown = renumbering.feed(piece)
            pieces.append(shown)
            if shown:
                yield "token", shown
        pieces.append(renumbering.flush())
    except BackendUnavailableError as exc:
        yield "answer", Answer("".join(pieces), error=str(exc))
        return
    text = remove_invalid_markers("".join(pieces).strip(), len(decision.passages))
    answer = Answer(text, bool(text) and not is_decline(text))
    if answer.answered and answerer.generative:
        answer = _checked(answer, decision, kept, focus, request)
    if answer.answered:
        answer.citations = build_citations(
            answer.text, decision.passages, chunk_texts(runtime, answer.text, decision.passages)
        )
    yield "answer", answer


def _checked(
    answer: Answer, decision: Decision, kept: list[int], focus: tuple[int, int] | None, request: AnswerRequest
) -> Answer:
    """A generated answer attributed sentence by sentence, or the reader's quote in its place (module docstring).
    Without a chosen sentence the model's answer stands, its unsupported sentences flagged."""
    attribution = attribute(answer.text, decision.passages)
    if focus is None or (attribution.supported and not attribution.unsupported):
        return Answer(attribution.answer, True, unsupported=attribution.unsupported)
    quote = ExtractiveAnswerer().answer(request)
    return Answer(remove_invalid_markers(Renumbering(kept).feed(quote), len(decision.passages)), True)


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
