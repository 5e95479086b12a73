"""Retrieval and answer metrics over a question file (the format of ../shared/eval/git-doc/questions.jsonl).

Per question: the files of the top hits (deduplicated, in rank order) against `relevant`, and whether a
retrieved passage contains one of the `evidence` strings after whitespace is collapsed on both sides.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_service.answering import Answerer
from rag_service.answering.service import ask
from rag_service.errors import InvalidInputError
from rag_service.retrieval import Hit, SearchOptions, retrieve
from rag_service.runtime import Runtime

HIT_KS = (1, 3, 5, 10)
RANKING_DEPTH = 10


@dataclass
class Question:
    id: str
    question: str
    relevant: list[str]
    evidence: list[str]
    answerable: bool
    type: str = ""


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            questions.append(
                Question(
                    id=str(data["id"]),
                    question=data["question"],
                    relevant=list(data.get("relevant", [])),
                    evidence=list(data.get("evidence", [])),
                    answerable=bool(data.get("answerable", True)),
                    type=data.get("type", ""),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}:{number}: not a question record ({exc})") from exc
    return questions


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


@dataclass
class EvalReport:
    questions: int = 0
    answerable: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    per_question: list[dict[str, Any]] = field(default_factory=list)


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
        row[f"evidence@{top_k}"] = evidence_found(hits[:top_k], question.evidence)
    return row


def evaluate(
    runtime: Runtime,
    collection: str,
    questions: list[Question],
    options: SearchOptions,
    answerer: Answerer | None = None,
) -> EvalReport:
    """Retrieval metrics at depth max(10, top_k); evidence@top_k; with an answerer, decline and citation rates."""
    top_k = options.top_k
    deep = SearchOptions(
        top_k=max(RANKING_DEPTH, top_k),
        mode=options.mode,
        path_filter=options.path_filter,
        min_score=options.min_score,
        merge_neighbours=options.merge_neighbours,
    )
    report = EvalReport(questions=len(questions), answerable=sum(q.answerable for q in questions))
    for question in questions:
        hits = retrieve(runtime, collection, question.question, deep)
        row = score_question(question, hits, top_k)
        if answerer is not None:
            result = ask(runtime, collection, question.question, options, answerer)
            cited = {c.path for c in result.citations}
            row["answer"] = result.answer
            row["answered"] = result.answered
            row["cited"] = sorted(cited)
            row["cited_relevant"] = bool(cited & set(question.relevant))
            if result.error:
                row["error"] = result.error
        report.per_question.append(row)
    report.metrics = summarise(report.per_question, top_k, with_answers=answerer is not None)
    return report


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def summarise(rows: list[dict[str, Any]], top_k: int, with_answers: bool) -> dict[str, float]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    metrics = {f"hit@{k}": _mean([float(r[f"hit@{k}"]) for r in answerable]) for k in HIT_KS}
    metrics["mrr@10"] = _mean([r["rr@10"] for r in answerable])
    metrics["ndcg@10"] = _mean([r["ndcg@10"] for r in answerable])
    metrics[f"evidence@{top_k}"] = _mean([float(r[f"evidence@{top_k}"]) for r in answerable])
    if with_answers:
        metrics["declined_when_unanswerable"] = _mean([float(not r["answered"]) for r in unanswerable])
        metrics["answered_when_answerable"] = _mean([float(r["answered"]) for r in answerable])
        metrics["cited_relevant_when_answerable"] = _mean([float(r["cited_relevant"]) for r in answerable])
    return metrics
