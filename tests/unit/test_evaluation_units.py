"""Eval metrics against values computed by hand on a toy run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag_service.answering.citations import Citation, strip_markers
from rag_service.answering.service import AskResult
from rag_service.errors import InvalidInputError
from rag_service.evaluation import (
    Question,
    evidence_in_answer,
    evidence_token_recall,
    is_conversation_file,
    load_conversations,
    ndcg,
    percentile,
    score_answer,
    score_question,
    summarise,
)
from rag_service.retrieval import Hit


def hits_for(paths: list[str], texts: list[str] | None = None) -> list[Hit]:
    texts = texts or ["" for _ in paths]
    return [
        Hit(rank=i, score=1.0, path=p, text=t, chunk_id=i, document_id=i)
        for i, (p, t) in enumerate(zip(paths, texts, strict=True), 1)
    ]


def result(answer: str, answered: bool, cited: list[str] = ()) -> AskResult:  # type: ignore[assignment]
    citations = [Citation(n=i, path=p, chunk_id=i, quote="") for i, p in enumerate(cited, 1)]
    return AskResult("?", "?", answer, answered, "extractive", citations=citations)


def test_toy_run_metrics() -> None:
    q1 = Question("q1", "?", ["a.txt"], ["the  answer\nis here"], True)
    q2 = Question("q2", "?", ["b.txt", "c.txt"], ["nowhere"], True)
    q3 = Question("q3", "?", [], [], False)
    rows = [
        score_question(q1, hits_for(["a.txt", "x.txt"], ["so the answer is here ok", "no"]), top_k=5),
        score_question(q2, hits_for(["x.txt", "y.txt", "x.txt", "c.txt", "b.txt"], ["", "", "", "nowhere", ""]), 5),
        score_question(q3, hits_for(["x.txt"]), top_k=5),
    ]
    # q1: relevant first; q2: files deduplicated to x, y, c, b -> first relevant at rank 3.
    assert rows[0]["first_relevant_rank"] == 1 and rows[1]["first_relevant_rank"] == 3
    assert rows[0]["evidence@5"] is True and rows[1]["evidence@5"] is True
    assert rows[0]["evidence@1"] is True and rows[1]["evidence@1"] is False
    expected_ndcg_q2 = (1 / math.log2(4) + 1 / math.log2(5)) / (1 / math.log2(2) + 1 / math.log2(3))
    assert rows[1]["ndcg@10"] == pytest.approx(expected_ndcg_q2)
    rows[0].update(score_answer(q1, result("So the answer is here [1].", True, ["a.txt"])), answer_ms=10.0)
    unsupported = result("It is in c [1]. The moon is cheese.", True, ["x.txt"])
    unsupported.unsupported = ["The moon is cheese."]
    rows[1].update(score_answer(q2, unsupported), answer_ms=30.0)
    rows[2].update(score_answer(q3, result("I could not find the answer in the documents.", False)), answer_ms=20.0)
    metrics = summarise(rows, top_k=5, with_answers=True)
    assert metrics["hit@1"] == 0.5 and metrics["hit@3"] == 1.0 and metrics["hit@10"] == 1.0
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert metrics["ndcg@10"] == pytest.approx((1 + expected_ndcg_q2) / 2, abs=1e-4)
    assert metrics["evidence@1"] == 0.5 and metrics["evidence@5"] == 1.0
    assert metrics["declined_when_unanswerable"] == 1.0
    assert metrics["answered_when_answerable"] == 1.0
    assert metrics["cited_relevant"] == 0.5
    assert metrics["cited_when_answered"] == 1.0 and metrics["unsupported_when_answered"] == 0.5
    assert metrics["evidence_in_answer"] == 0.5
    assert metrics["evidence_token_recall"] == 0.5  # q1 all 4 tokens, q2 none of "nowhere"
    assert metrics["answer_ms_p50"] == 20.0 and metrics["answer_ms_p95"] == 29.0
    assert metrics["answer_errors"] == 0


def test_metrics_without_a_denominator_are_none() -> None:
    row = score_question(Question("q", "?", ["a"], ["e"], True), hits_for(["a"]), top_k=3)
    row.update(score_answer(Question("q", "?", ["a"], ["e"], True), result("no", False)))
    metrics = summarise([row], top_k=3, with_answers=True)
    assert metrics["declined_when_unanswerable"] is None and metrics["answered_when_answerable"] == 0.0


def test_ndcg_of_perfect_ranking_is_one() -> None:
    assert ndcg(["a", "b", "c"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg(["x"], {"a"}) == 0.0


def test_citation_markers_are_removed_with_the_space_before_them() -> None:
    assert strip_markers("Run it [1]. Then stop [2, 3] now[4]") == "Run it. Then stop now"
    assert strip_markers("a list [x] stays") == "a list [x] stays"


def test_evidence_in_answer_collapses_whitespace_and_ignores_markers() -> None:
    evidence = ["unstage and remove paths  only\nfrom the index"]
    assert evidence_in_answer("It will unstage and remove paths [1] only from the index.", evidence)
    assert evidence_in_answer("unstage and\n\tremove paths only from the index [2]", evidence)
    assert not evidence_in_answer("Unstage and remove paths only from the index", evidence)  # case counts
    assert not evidence_in_answer("remove paths only from the index", evidence)
    assert not evidence_in_answer("anything", [])
    assert not evidence_in_answer("anything", ["   "])


def test_evidence_token_recall_is_the_best_share_of_evidence_tokens() -> None:
    evidence = ["Return a reader object", "opened with newline"]
    # first string: a, reader, object of its 4 tokens ("returns" is not "return"); second: 3 of 3.
    assert evidence_token_recall("csv.reader returns a READER object [1]", evidence) == pytest.approx(3 / 4)
    assert evidence_token_recall("Files opened with newline='' [2]", evidence) == 1.0
    assert evidence_token_recall("nothing relevant", evidence) == 0.0
    assert evidence_token_recall("the marker is cited [1]", ["marker 1"]) == 0.5
    assert evidence_token_recall("anything", []) == 0.0


def test_answer_scores_from_the_result_not_its_opinion() -> None:
    question = Question("q", "?", ["git-rm.txt"], ["from the index"], True)
    row = score_answer(question, result("Removed from the index [1].", True, ["git-rm.txt", "other.txt"]))
    assert row["cited_relevant"] and row["evidence_in_answer"] and row["evidence_token_recall"] == 1.0
    assert row["cited"] == ["git-rm.txt", "other.txt"]
    off = score_answer(question, result("See elsewhere [1].", True, ["other.txt"]))
    assert not off["cited_relevant"] and not off["evidence_in_answer"]
    unanswerable = score_answer(Question("u", "?", [], [], False), result("I do not know.", False))
    assert "cited_relevant" not in unanswerable and unanswerable["answered"] is False


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)


def test_conversation_files_are_detected_and_checked(tmp_path: Path) -> None:
    turn = {"question": "What?", "relevant": ["a"], "evidence": ["e"], "answerable": True, "type": "howto"}
    conversations = tmp_path / "c.jsonl"
    conversations.write_text(json.dumps({"id": "c1", "turns": [turn, {**turn, "answerable": False}]}) + "\n\n")
    assert is_conversation_file(conversations)
    [loaded] = load_conversations(conversations)
    assert [t.id for t in loaded.turns] == ["c1#1", "c1#2"] and not loaded.turns[1].answerable
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q1", **turn}) + "\n")
    assert not is_conversation_file(questions)
    mixed = tmp_path / "m.jsonl"
    mixed.write_text(questions.read_text() + conversations.read_text())
    with pytest.raises(InvalidInputError, match="mixes"):
        is_conversation_file(mixed)
    empty_turns = tmp_path / "e.jsonl"
    empty_turns.write_text(json.dumps({"id": "c", "turns": []}) + "\n")
    with pytest.raises(InvalidInputError, match=r"e\.jsonl:1: not a conversation record"):
        load_conversations(empty_turns)
    for text, message in (("", "no questions"), ("{oops\n", "not JSON"), ("[1]\n", "not a JSON object")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text)
        with pytest.raises(InvalidInputError, match=message):
            is_conversation_file(bad)
