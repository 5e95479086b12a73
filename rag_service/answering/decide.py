"""The read/decide step: do the retrieved passages answer the question, and what goes to the answer?

One decision, three outcomes (`status`):
- `answered`: the answer is written from the passages (with a reader: quoting the sentence it chose);
- `partial`: the passages are about the question but no sentence states what it asks (the reader found none);
  the closest passages are shown with a sentence saying the documents may not answer it;
- `declined`: nothing retrieved is about the question.

Without a reader the evidence signals (evidence.py) decide alone, as before: answered or declined. With one,
its probability that each candidate sentence states the answer, averaged over the candidates
(`Verdict.support`), joins them under two thresholds calibrated on the dev sets as a whole
(`RAG_READER_MIN_ANSWER`, `RAG_READER_OVERRIDE`): the reader must find the answer for the question to be
answered, and a very sure reader answers even where the retrieval signals were weak. A question naming
something no passage mentions is declined before the reader is asked. A reader that fails (its server down,
say) leaves the evidence to decide, and the result says so.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from rag_service.answering.evidence import Evidence, EvidenceThresholds, assess, term_weights
from rag_service.answering.prompt import fit_passages
from rag_service.answering.reader.base import Verdict, candidates
from rag_service.errors import BackendUnavailableError
from rag_service.passages import Hit
from rag_service.retrieval import collection_statistics
from rag_service.runtime import Runtime
from rag_service.settings import Settings

log = logging.getLogger(__name__)

ANSWERED, PARTIAL, DECLINED = "answered", "partial", "declined"


@dataclass
class Decision:
    status: str
    evidence: Evidence
    passages: list[Hit]  # fitted into the context budget, numbered [1]..[n] as the answer cites them
    term_weights: dict[str, float]  # the question's content terms by their rarity in the collection
    verdict: Verdict | None = None
    kept: list[int] = field(default_factory=list)  # passage numbers the answerer is given; empty: all
    chosen: tuple[int, int] | None = None  # (passage number, unit) of the sentence the reader chose: quoted
    reader_error: str | None = None

    def to_dict(self) -> dict:
        data: dict = {"status": self.status}
        if self.verdict is not None:
            data["reader"] = self.verdict.to_dict()
        if self.reader_error:
            data["reader_error"] = self.reader_error
        return data


def evidence_thresholds(settings: Settings) -> EvidenceThresholds:
    return EvidenceThresholds(settings.evidence_min_dense, settings.evidence_min_coverage)


def decide(runtime: Runtime, collection: str, question: str, asked: str, hits: list[Hit]) -> Decision:
    settings = runtime.settings
    statistics = collection_statistics(runtime, collection)
    weights = term_weights(question, statistics.frequencies, statistics.chunks)
    lexical_first = next((h.document_id for h in hits if h.lexical_score == 1.0), None)
    evidence = assess(question, hits, weights, statistics.frequencies, evidence_thresholds(settings), lexical_first)
    budget = settings.context_token_budget
    passages = fit_passages([dataclasses.replace(hit) for hit in hits], budget, statistics.count_tokens)
    by_rules = ANSWERED if passages and evidence.answerable else DECLINED
    decision = Decision(by_rules, evidence, passages, weights)
    reader = runtime.reader
    if reader is None or not passages or evidence.missing:
        return decision  # a name the question asks about is in no passage: declined without asking the reader
    shown = candidates(question, asked, passages, weights, settings.reader_candidates)
    if not shown:  # no sentence holds a term of the question
        decision.status = DECLINED
        return decision
    try:
        decision.verdict = reader.judge(question, shown)
    except BackendUnavailableError as exc:
        log.warning("the reader failed (%s); the evidence check decides alone", exc)
        decision.reader_error = str(exc)
        return decision
    decision.status = combine(evidence, decision.verdict.support, settings)
    chosen = decision.verdict.chosen
    if decision.status == ANSWERED and chosen is not None:
        decision.kept = decision.verdict.passages_kept(settings.reader_keep_share)
        decision.chosen = (chosen.passage, chosen.unit)
    return decision


def combine(evidence: Evidence, support: float, settings: Settings) -> str:
    """The reader's belief and the retrieval signals as one outcome (module docstring)."""
    found = support >= settings.reader_min_answer
    sure = support >= settings.reader_override and not evidence.missing
    if found and (evidence.answerable or sure):
        return ANSWERED
    if evidence.answerable or found:
        return PARTIAL
    return DECLINED
