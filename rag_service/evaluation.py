"""Retrieval and answer metrics over a question file or a conversation file, computed from the ground truth.

Formats: ../shared/eval/git-doc/questions.jsonl (one question a line) and
../shared/eval/python-doc/conversations.jsonl (`{"id", "turns": [question record without id, ...]}`); a file
whose records have `turns` is read as conversations.

Retrieval, per question, at depth 10 (`RANKING_DEPTH`) or top_k if larger; answerable questions only:
- the ranked files are the hits' files, deduplicated in rank order; hit@k: a `relevant` file is among the first
  k; mrr@10: 1 / rank of the first relevant file (0 past 10); ndcg@10 with binary relevance;
- evidence@k: one of the top k passages contains one of the `evidence` strings, whitespace collapsed on both sides.

Answers (`--answers`, and always for conversations), from `AskResult`, never from the answerer's own opinion:
- answered_when_answerable / declined_when_unanswerable: `AskResult.answered` on answerable questions, and its
  negation on unanswerable ones;
- evidence_in_answer: an evidence string (whitespace collapsed) is a substring of the answer with its `[n]`
  citation markers removed (with the whitespace before them) and whitespace collapsed; answerable questions;
- evidence_token_recall: for each evidence string, the share of its word tokens (lowercased `\\w+`, repeats
  counted) that occur among the answer's tokens (markers removed); the best evidence string counts; averaged
  over answerable questions;
- cited_relevant: one of the answer's citations is to a `relevant` file; averaged over answerable questions
  (a declined answer cites nothing, so it scores 0);
- cited_when_answered: the answer carries a valid `[n]` citation; averaged over the answered questions, answerable
  or not (what a generative backend must reach whatever the model writes);
- unsupported_when_answered: the answer has a generated sentence no passage supports; over the answered questions;
- latency: p50 and p95 in ms of `ask` per question (search_ms: the depth-10 retrieval alone), after one
  untimed warm-up search and ask so that loading indexes and models is not counted.

Conversations are replayed turn by turn in one chat session: the history is the earlier user questions and the
system's own answers. A turn's retrieval metrics use the standalone question the answerer condensed for that
turn (`AskResult.standalone_question`, i.e. `answerer.condense(question, history)`), retrieved at depth 10;
its answer metrics come from `ask(..., history=history)`. Metrics are reported per turn position ("turn 1",
"turn 2", ...), for "follow-ups" (turns 2+) together, and for "all" turns.

A metric whose denominator is empty (declined_when_unanswerable where every question is answerable) is None.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_service.answering import Answerer
from rag_service.answering.base import ChatTurn
from rag_service.answering.citations import strip_markers
from rag_service.answering.follow_ups import follow_up_options
from rag_service.answering.request import AskRequest
from rag_service.answering.service import AskResult, ask
from rag_service.errors import InvalidInputError
from rag_service.retrieval import Hit, SearchOptions, retrieve
from rag_service.runtime import Runtime

HIT_KS = (1, 3, 5, 10)
RANKING_DEPTH = 10
ALL = "all"
FOLLOW_UPS = "follow-ups"

# `[1]`, `[2, 3]` and the whitespace before them, so "word [1]." reads "word." again.
_WORD = re.compile(r"\w+")


@dataclass
class Question:
    id: str
    question: str
    relevant: list[str]
    evidence: list[str]
    answerable: bool
    type: str = ""


@dataclass
class Conversation:
    id: str
    turns: list[Question]


def _question(data: dict[str, Any], id_: str) -> Question:
    if not isinstance(data["question"], str) or not data["question"].strip():
        raise TypeError("`question` must be a non-empty string")
    return Question(
        id=id_,
        question=data["question"],
        relevant=[str(p) for p in data.get("relevant", [])],
        evidence=[str(e) for e in data.get("evidence", [])],
        answerable=bool(data.get("answerable", True)),
        type=str(data.get("type", "")),
    )


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"{path}:{number}: not a JSON object")
        records.append((number, data))
    if not records:
        raise InvalidInputError(f"{path}: no questions in the file")
    return records


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, data in _records(path):
        if data.get("needs_review"):  # exported feedback nobody has given ground truth yet (feedback.py)
            continue
        try:
            questions.append(_question(data, str(data["id"])))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{path}:{number}: not a question record ({exc})") from exc
    if not questions:
        raise InvalidInputError(f"{path}: every question still needs review")
    return questions


def load_conversations(path: Path) -> list[Conversation]:
    conversations = []
    for number, data in _records(path):
        try:
            turns = data["turns"]
            if not isinstance(turns, list) or not turns:
                raise TypeError("`turns` must be a non-empty list")
            conv_id = str(data["id"])
            questions = [_question(turn, f"{conv_id}#{i}") for i, turn in enumerate(turns, start=1)]
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{path}:{number}: not a conversation record ({exc})") from exc
        conversations.append(Conversation(conv_id, questions))
    return conversations


def is_conversation_file(path: Path) -> bool:
    """Conversations when the records have `turns`; a file mixing both kinds is refused."""
    kinds = {"turns" in data for _, data in _records(path)}
    if len(kinds) > 1:
        raise InvalidInputError(f"{path}: mixes conversation records (with `turns`) and question records")
    return kinds == {True}


def normalise(text: str) -> str:
    return " ".join(text.split())


def ranked_files(hits: list[Hit]) -> list[str]:
    return list(dict.fromkeys(hit.path for hit in hits))


def first_relevant_rank(files: list[str], relevant: set[str]) -> int | None:
    return next((rank for rank, path in enumerate(files, start=1) if path in relevant), None)


def ndcg(files: list[str], relevant: set[str], depth: int = RANKING_DEPTH) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, path in enumerate(files[:depth], start=1) if path in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), depth) + 1))
    return dcg / ideal if ideal else 0.0


def evidence_found(hits: list[Hit], evidence: list[str]) -> bool:
    texts = [normalise(hit.text) for hit in hits]
    return any(normalise(e) in text for e in evidence for text in texts)


def evidence_in_answer(answer: str, evidence: list[str]) -> bool:
    text = normalise(strip_markers(answer))
    return any(normalise(e) and normalise(e) in text for e in evidence)


def word_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def evidence_token_recall(answer: str, evidence: list[str]) -> float:
    answer_tokens = set(word_tokens(strip_markers(answer)))
    shares = []
    for item in evidence:
        tokens = word_tokens(item)
        if tokens:
            shares.append(sum(token in answer_tokens for token in tokens) / len(tokens))
    return max(shares, default=0.0)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class EvalReport:
    questions: int = 0
    answerable: int = 0
    metrics: dict[str, float | None] = field(default_factory=dict)
    per_question: list[dict[str, Any]] = field(default_factory=list)
    # Conversations: label ("turn 1", "follow-ups", "all") -> {"questions", "answerable", **metrics}.
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: int = 0


def score_question(question: Question, hits: list[Hit], top_k: int) -> dict[str, Any]:
    files = ranked_files(hits)
    relevant = set(question.relevant)
    rank = first_relevant_rank(files[:RANKING_DEPTH], relevant)
    row: dict[str, Any] = {
        "id": question.id,
        "question": question.question,
        "answerable": question.answerable,
        "relevant": question.relevant,
        "retrieved": files[:RANKING_DEPTH],
        "first_relevant_rank": rank,
    }
    if question.answerable:
        for k in HIT_KS:
            row[f"hit@{k}"] = rank is not None and rank <= k
        row["rr@10"] = 1.0 / rank if rank else 0.0
        row["ndcg@10"] = ndcg(files, relevant)
        row["evidence@1"] = evidence_found(hits[:1], question.evidence)
        row[f"evidence@{top_k}"] = evidence_found(hits[:top_k], question.evidence)
    return row


def score_answer(question: Question, result: AskResult) -> dict[str, Any]:
    """The answer's metrics against the question's ground truth (see the module docstring)."""
    cited = sorted({c.path for c in result.citations})
    row: dict[str, Any] = {"answer": result.answer, "answered": result.answered, "cited": cited}
    if result.unsupported:
        row["unsupported"] = result.unsupported
    if question.answerable:
        row["evidence_in_answer"] = evidence_in_answer(result.answer, question.evidence)
        row["evidence_token_recall"] = round(evidence_token_recall(result.answer, question.evidence), 4)
        row["cited_relevant"] = bool(set(cited) & set(question.relevant))
    if result.error:
        row["error"] = result.error
    return row


def _depth_options(options: SearchOptions) -> SearchOptions:
    return dataclasses.replace(options, top_k=max(RANKING_DEPTH, options.top_k))


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, round((time.perf_counter() - started) * 1000, 1)


def _warm_up(
    runtime: Runtime, collection: str, question: str, options: SearchOptions, answerer: Answerer | None
) -> None:
    """One untimed search and ask first, so loading the indexes and the models is not counted as latency."""
    retrieve(runtime, collection, question, _depth_options(options))
    if answerer is not None:
        ask(runtime, AskRequest(collection, question, answerer, options))


def evaluate(
    runtime: Runtime,
    collection: str,
    questions: list[Question],
    options: SearchOptions,
    answerer: Answerer | None = None,
) -> EvalReport:
    """Retrieval metrics at depth max(10, top_k); evidence@1 and @top_k; with an answerer, answer metrics."""
    deep = _depth_options(options)
    report = EvalReport(questions=len(questions), answerable=sum(q.answerable for q in questions))
    if questions:
        _warm_up(runtime, collection, questions[0].question, options, answerer)
    for question in questions:
        hits, search_ms = _timed(lambda q=question: retrieve(runtime, collection, q.question, deep))
        row = score_question(question, hits, options.top_k)
        row["search_ms"] = search_ms
        if answerer is not None:
            request = AskRequest(collection, question.question, answerer, options)
            result, answer_ms = _timed(lambda r=request: ask(runtime, r))
            row.update(score_answer(question, result), answer_ms=answer_ms)
        report.per_question.append(row)
    report.metrics = summarise(report.per_question, options.top_k, with_answers=answerer is not None)
    return report


def evaluate_conversations(
    runtime: Runtime,
    collection: str,
    conversations: list[Conversation],
    options: SearchOptions,
    answerer: Answerer,
) -> EvalReport:
    """Each conversation replayed in one chat session; metrics per turn position, follow-ups and all turns."""
    deep = _depth_options(options)
    rows: list[dict[str, Any]] = []
    if conversations:
        _warm_up(runtime, collection, conversations[0].turns[0].question, options, answerer)
    for conversation in conversations:
        history: list[ChatTurn] = []
        for index, turn in enumerate(conversation.turns, start=1):
            request = AskRequest(collection, turn.question, answerer, options, history=list(history))
            result, answer_ms = _timed(lambda r=request: ask(runtime, r))
            standalone = result.standalone_question
            turn_options = follow_up_options(runtime, collection, turn.question, standalone, history, deep)
            hits, search_ms = _timed(lambda s=standalone, o=turn_options: retrieve(runtime, collection, s, o))
            row = {"conversation": conversation.id, "turn": index, **score_question(turn, hits, options.top_k)}
            row["standalone_question"] = standalone
            row.update(score_answer(turn, result), search_ms=search_ms, answer_ms=answer_ms)
            rows.append(row)
            history += [ChatTurn("user", turn.question), ChatTurn("assistant", result.answer)]
    report = EvalReport(
        questions=len(rows),
        answerable=sum(r["answerable"] for r in rows),
        per_question=rows,
        conversations=len(conversations),
    )
    positions = sorted({r["turn"] for r in rows})
    selections = [(f"turn {p}", [r for r in rows if r["turn"] == p]) for p in positions]
    selections += [(FOLLOW_UPS, [r for r in rows if r["turn"] > 1]), (ALL, rows)]
    for label, selected in selections:
        report.groups[label] = {
            "questions": len(selected),
            "answerable": sum(r["answerable"] for r in selected),
            **summarise(selected, options.top_k, with_answers=True),
        }
    report.metrics = {k: v for k, v in report.groups[ALL].items() if k not in ("questions", "answerable")}
    return report


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return round(value, 1) if value is not None else None


def summarise(rows: list[dict[str, Any]], top_k: int, with_answers: bool) -> dict[str, float | None]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    metrics = {f"hit@{k}": _mean([float(r[f"hit@{k}"]) for r in answerable]) for k in HIT_KS}
    metrics["mrr@10"] = _mean([r["rr@10"] for r in answerable])
    metrics["ndcg@10"] = _mean([r["ndcg@10"] for r in answerable])
    metrics["evidence@1"] = _mean([float(r["evidence@1"]) for r in answerable])
    metrics[f"evidence@{top_k}"] = _mean([float(r[f"evidence@{top_k}"]) for r in answerable])
    searches = [r["search_ms"] for r in rows if "search_ms" in r]
    metrics["search_ms_p50"], metrics["search_ms_p95"] = _ms(searches, 50), _ms(searches, 95)
    if with_answers:
        metrics["answered_when_answerable"] = _mean([float(r["answered"]) for r in answerable])
        metrics["declined_when_unanswerable"] = _mean([float(not r["answered"]) for r in unanswerable])
        metrics["evidence_in_answer"] = _mean([float(r["evidence_in_answer"]) for r in answerable])
        metrics["evidence_token_recall"] = _mean([r["evidence_token_recall"] for r in answerable])
        metrics["cited_relevant"] = _mean([float(r["cited_relevant"]) for r in answerable])
        answered = [r for r in rows if r["answered"]]
        metrics["cited_when_answered"] = _mean([float(bool(r["cited"])) for r in answered])
        metrics["unsupported_when_answered"] = _mean([float("unsupported" in r) for r in answered])
        metrics["answer_errors"] = sum("error" in r for r in rows)
        answers = [r["answer_ms"] for r in rows if "answer_ms" in r]
        metrics["answer_ms_p50"], metrics["answer_ms_p95"] = _ms(answers, 50), _ms(answers, 95)
    return metrics
