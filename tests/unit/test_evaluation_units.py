"""Eval metrics against values computed by hand on a toy run."""

from __future__ import annotations

import math

import pytest

from rag_service.evaluation import Question, ndcg, score_question, summarise
from rag_service.retrieval import Hit


def hits_for(paths: list[str], texts: list[str] | None = None) -> list[Hit]:
    texts = texts or ["" for _ in paths]
    return [
        Hit(rank=i, score=1.0, path=p, text=t, chunk_id=i, document_id=i)
        for i, (p, t) in enumerate(zip(paths, texts, strict=True), 1)
    ]


def test_toy_run_metrics() -> None:
    q1 = Question("q1", "?", ["a.txt"], ["the  answer\nis here"], True)
    q2 = Question("q2", "?", ["b.txt", "c.txt"], ["nowhere"], True)
    q3 = Question("q3", "?", [], [], False)
    rows = [
        score_question(q1, hits_for(["a.txt", "x.txt"], ["so the answer is here ok", "no"]), top_k=5),
        score_question(q2, hits_for(["x.txt", "y.txt", "x.txt", "c.txt", "b.txt"]), top_k=5),
        score_question(q3, hits_for(["x.txt"]), top_k=5),
    ]
    # q1: relevant first; q2: files deduplicated to x, y, c, b -> first relevant at rank 3.
    assert rows[0]["first_relevant_rank"] == 1 and rows[1]["first_relevant_rank"] == 3
    assert rows[0]["evidence@5"] is True and rows[1]["evidence@5"] is False
    expected_ndcg_q2 = (1 / math.log2(4) + 1 / math.log2(5)) / (1 / math.log2(2) + 1 / math.log2(3))
    assert rows[1]["ndcg@10"] == pytest.approx(expected_ndcg_q2)
    for row, answered, cited in zip(rows, [True, True, False], [True, False, False], strict=True):
        row["answered"], row["cited_relevant"] = answered, cited
    metrics = summarise(rows, top_k=5, with_answers=True)
    assert metrics["hit@1"] == 0.5 and metrics["hit@3"] == 1.0 and metrics["hit@10"] == 1.0
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert metrics["ndcg@10"] == pytest.approx((1 + expected_ndcg_q2) / 2, abs=1e-4)
    assert metrics["evidence@5"] == 0.5
    assert metrics["declined_when_unanswerable"] == 1.0
    assert metrics["answered_when_answerable"] == 1.0
    assert metrics["cited_relevant_when_answerable"] == 0.5


def test_ndcg_of_perfect_ranking_is_one() -> None:
    assert ndcg(["a", "b", "c"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg(["x"], {"a"}) == 0.0
