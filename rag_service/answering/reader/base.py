"""The reader interface, and what it is shown: the candidate sentences of the top passages.

A reader is a small language model asked, for each candidate sentence, whether it states what the question
asks: yes or no. Its answer is one token, read as the probability of yes, so the decision step can combine it
with the retrieval signals under calibrated thresholds. It also rewrites a follow-up into a standalone question.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

from rag_service.answering.base import ChatTurn
from rag_service.answering.extractive import (
    PASSAGES_CONSIDERED,
    RANK_PENALTY,
    Unit,
    question_weights,
    score_units,
    split_units,
)
from rag_service.answering.terms import is_how_to
from rag_service.passages import Hit

MAX_CANDIDATE_CHARS = 180  # of one sentence as the reader sees it; the answer quotes the whole unit
MAX_CODE_LINES = 2


@dataclass
class Candidate:
    passage: int  # 1-based passage number, the citation the answer gets
    unit: int  # index in extractive.split_units(passage text)
    text: str  # as shown to the reader: the sentence, with the option or term it describes
    where: str  # file and section
    rank: int = 0  # by the extractive answerer's own score: 0 is the sentence it would quote without a reader


@dataclass
class Verdict:
    """The reader's answer: `scores[k]`, its probability that candidate k states what the question asks."""

    candidates: list[Candidate]
    scores: list[float]
    prompt_tokens: int = 0
    seconds: float = 0.0
    reader: str = ""

    @property
    def p_answer(self) -> float:
        """The best candidate's score: how sure the reader is of the sentence it chose."""
        return max(self.scores, default=0.0)

    @property
    def support(self) -> float:
        """The mean score over the candidates: what the decision reads. Where the documents state the answer,
        several of the sentences shown tend to bear on it (the stating one, the option it belongs to, the example
        after it); a near miss draws one sentence the reader half-believes among clear noes. On the dev sets the
        mean separated answerable from unanswerable questions better than the best score (AUC .82 against .77)."""
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    @property
    def chosen(self) -> Candidate | None:
        """The candidate most likely to state the answer (whether that is likely enough is the decision's)."""
        if not self.scores:
            return None
        return self.candidates[max(range(len(self.scores)), key=lambda k: (self.scores[k], -k))]

    def passages_kept(self, share: float) -> list[int]:
        """The chosen candidate's passage first, then those with a candidate scoring at least `share` of it."""
        chosen = self.chosen
        if chosen is None:
            return []
        best = max(self.p_answer, 1e-9)
        kept = [chosen.passage]
        for candidate, score in zip(self.candidates, self.scores, strict=True):
            if candidate.passage not in kept and score / best >= share:
                kept.append(candidate.passage)
        return kept

    def to_dict(self) -> dict:
        chosen = self.chosen
        return {
            "reader": self.reader,
            "p_answer": round(self.p_answer, 4),
            "support": round(self.support, 4),
            "chosen": asdict(chosen) if chosen is not None else None,
            "candidates": len(self.candidates),
            "prompt_tokens": self.prompt_tokens,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ReaderStatus:
    name: str  # off | extractive rules | llamacpp | openai
    active: bool
    reason: str = ""  # why `auto` chose it, or why it is off
    model: str = ""
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Reader(Protocol):
    name: str

    def judge(self, question: str, candidates: list[Candidate]) -> Verdict:
        """For each candidate, the probability that it states what the question asks."""
        ...

    def rewrite(self, question: str, history: list[ChatTurn]) -> str:
        """A follow-up rewritten as a question that stands on its own."""
        ...

    def describe(self) -> str: ...


def candidates(
    question: str, asked: str, passages: list[Hit], term_weights: dict[str, float] | None, limit: int
) -> list[Candidate]:
    """The `limit` units of the top passages that match the question best, in reading order: the sentences
    the extractive answerer would consider, so that the reader only has to say which one answers."""
    weights = question_weights(question, asked, term_weights)
    if not weights:
        return []
    how_to = is_how_to(asked) or is_how_to(question)
    scored: list[tuple[float, int, int, list[Unit], Hit]] = []
    for n, hit in enumerate(passages[:PASSAGES_CONSIDERED], start=1):
        units = split_units(hit.text)
        for score, index in score_units(units, hit.heading_path, weights, how_to, set()):
            scored.append((score - RANK_PENALTY * (n - 1), n, index, units, hit))
    best = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))[:limit]
    ranked = [Candidate(n, index, shown_text(units, index), where(hit), rank) for rank, (_, n, index, units, hit)
              in enumerate(best)]  # fmt: skip
    return sorted(ranked, key=lambda c: (c.passage, c.unit))


def shown_text(units: list[Unit], index: int) -> str:
    """The unit as the reader sees it: code cut to its first lines, prose to a few hundred characters, and the
    option or term whose description it belongs to in front ("--signoff:: Add a Signed-off-by trailer ...")."""
    unit = units[index]
    text = unit.text
    if unit.kind in ("code", "table"):
        lines = [line for line in text.splitlines() if line.strip()]
        text = "\n".join(lines[:MAX_CODE_LINES]) + ("\n…" if len(lines) > MAX_CODE_LINES else "")
    elif len(text) > MAX_CANDIDATE_CHARS:
        text = text[:MAX_CANDIDATE_CHARS].rsplit(" ", 1)[0] + " …"
    for previous in reversed(units[:index]):
        if previous.kind == "title":
            break
        if previous.kind == "term":
            return f"{previous.text} {text}"
    return text


def where(hit: Hit) -> str:
    section = hit.heading_path.split(" > ")[-1] if hit.heading_path else ""
    return f"{hit.path} § {section}" if section else hit.path
