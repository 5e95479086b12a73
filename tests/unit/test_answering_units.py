"""Fusion, filters, citations, prompts, condensation and the extractive answerer, without models or servers."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from rag_service.answering.base import NOT_FOUND_ANSWER, AnswerRequest, ChatTurn
from rag_service.answering.chat import ChatModelAnswerer
from rag_service.answering.citations import (
    build_citations,
    cited_numbers,
    is_decline,
    remove_invalid_markers,
)
from rag_service.answering.condense import condense_by_rule
from rag_service.answering.extractive import ExtractiveAnswerer, split_sentences, unmentioned_names
from rag_service.answering.prompt import DECLINE_SENTENCE, build_messages, fit_passages, format_passages
from rag_service.retrieval import Hit, join_overlapping, path_matches, reciprocal_rank_fusion


def hit(n: int, text: str, path: str = "a.md", dense: float | None = 0.8, page: int | None = None) -> Hit:
    return Hit(
        rank=n,
        score=dense or 0.5,
        path=path,
        text=text,
        chunk_id=100 + n,
        document_id=n,
        page=page,
        start_line=None if page else 10 * n,
        end_line=None if page else 10 * n + 4,
        dense_score=dense,
        chunk_ids=[100 + n],
        ordinal=0,
    )


def test_reciprocal_rank_fusion_matches_hand_computation() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(fused, key=lambda c: -fused[c]) == [1, 3, 2]


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("docs/setup/linux.md", "docs/setup", True),
        ("docs/setup/linux.md", "docs/other", False),
        ("docs/setup/linux.md", "*.md", True),
        ("docs/setup/linux.md", "docs/*/linux.md", True),
        ("src/app.py", "*.md", False),
    ],
)
def test_path_filter_is_prefix_or_glob(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


def test_join_overlapping_drops_repeated_text() -> None:
    first = "alpha beta gamma delta epsilon zeta eta theta"
    second = "epsilon zeta eta theta iota kappa"
    assert join_overlapping(first, second) == "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    assert join_overlapping("one", "two") == "one\ntwo"


def test_citations_are_checked_and_mapped() -> None:
    passages = [hit(1, "First passage text."), hit(2, "Second.", path="b.pdf", page=3)]
    answer = "Claim one [1]. Claim two [2][5]. Both [1, 2, 7]."
    assert cited_numbers(answer) == [1, 2, 5, 7]
    cleaned = remove_invalid_markers(answer, len(passages))
    assert cleaned == "Claim one [1]. Claim two [2]. Both [1, 2]."
    citations = build_citations(cleaned, passages)
    assert [c.n for c in citations] == [1, 2]
    assert citations[0].to_dict() == {
        "n": 1,
        "path": "a.md",
        "chunk_id": 101,
        "quote": "First passage text.",
        "start_line": 10,
        "end_line": 14,
    }
    assert citations[1].to_dict()["page"] == 3 and citations[1].location() == "b.pdf p.3"


def test_declines_are_recognised() -> None:
    assert is_decline(DECLINE_SENTENCE)
    assert is_decline(NOT_FOUND_ANSWER)
    assert is_decline("The documents do not say how to do that.")
    assert not is_decline("Run `git stash -u` [1].")


def test_prompt_numbers_passages_and_keeps_history() -> None:
    passages = [hit(1, "Install with make."), hit(2, "Run with make run.")]
    messages = build_messages(
        "How do I run it?", passages, [ChatTurn("user", "How to install?"), ChatTurn("assistant", "Use make [1].")]
    )
    assert isinstance(messages[0], SystemMessage) and "[1]" in messages[0].content
    assert isinstance(messages[1], HumanMessage) and isinstance(messages[2], AIMessage)
    last = messages[-1].content
    assert "[1] a.md:10-14\nInstall with make." in last and "[2] a.md:20-24" in last
    assert last.endswith("Question: How do I run it?")
    assert format_passages([]) == ""


def test_context_budget_keeps_leading_passages() -> None:
    passages = [hit(i, "word " * 100) for i in range(1, 6)]
    count = lambda text: len(text.split())  # noqa: E731
    assert len(fit_passages(passages, 250, count)) == 2
    single = fit_passages([hit(1, "word " * 1000)], 100, count)
    assert len(single) == 1 and len(single[0].text) < 5000


def test_condense_by_rule_prefixes_referring_follow_ups() -> None:
    history = [ChatTurn("user", "How do I install Atlas on Linux?"), ChatTurn("assistant", "Run install.sh [1].")]
    assert condense_by_rule("And on Windows?", history) == "How do I install Atlas on Linux? And on Windows?"
    standalone = "What is the retention period for customer logs in the data policy?"
    assert condense_by_rule(standalone, history) == standalone
    assert condense_by_rule("And on Windows?", []) == "And on Windows?"


def test_extractive_quotes_best_sentences_with_citations() -> None:
    answerer = ExtractiveAnswerer(min_score=0.3, max_sentences=2)
    passages = [
        hit(1, "Backups run nightly. Restore a snapshot with atlas restore --snapshot ID."),
        hit(2, "Old keys stay valid for 24 hours after rotation. Rotate keys with atlas keys rotate."),
    ]
    answer = answerer.answer(AnswerRequest("How do I rotate the keys?", passages))
    assert "Rotate keys with atlas keys rotate. [2]" in answer
    assert "[1]" not in answer or "[2]" in answer


def test_extractive_declines_when_nothing_matches() -> None:
    answerer = ExtractiveAnswerer(min_score=0.5, max_sentences=2)
    weak = [hit(1, "Backups run nightly.", dense=0.2)]
    assert answerer.answer(AnswerRequest("How do I rotate keys?", weak)) == NOT_FOUND_ANSWER
    assert answerer.answer(AnswerRequest("How do I rotate keys?", [])) == NOT_FOUND_ANSWER
    strong = [hit(1, "Configure the gateway port in gateway.yaml under listen.", dense=0.9)]
    assert answerer.answer(AnswerRequest("Which port does a Gitea server use?", strong)) == NOT_FOUND_ANSWER


def test_unmentioned_names_skip_sentence_starts() -> None:
    passages = [hit(1, "Git can import history from SVN.")]
    assert unmentioned_names("How do I import from SVN? What about Mercurial?", passages) == ["Mercurial"]
    assert unmentioned_names("What does Git do with SVN branches?", passages) == []


def test_sentences_split_on_ends_and_list_items() -> None:
    assert split_sentences("One. Two!\n\nThree\n- four") == ["One.", "Two!", "Three", "- four"]


def test_chat_model_answerer_streams_and_wraps_errors() -> None:
    fake = GenericFakeChatModel(messages=iter([AIMessage(content="Run make [1].")]))
    answerer = ChatModelAnswerer("fake", fake, "memory")
    pieces = list(answerer.stream(AnswerRequest("How?", [hit(1, "Run make.")])))
    assert "".join(pieces) == "Run make [1]." and len(pieces) > 1

    class Broken(GenericFakeChatModel):
        def _stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise ConnectionError("refused")

    from rag_service.errors import BackendUnavailableError

    broken = ChatModelAnswerer("fake", Broken(messages=iter([])), "http://127.0.0.1:9")
    with pytest.raises(BackendUnavailableError, match=r"fake at http://127.0.0.1:9 failed: ConnectionError: refused"):
        list(broken.stream(AnswerRequest("How?", [hit(1, "x")])))
    condensed = ChatModelAnswerer(
        "fake", GenericFakeChatModel(messages=iter([AIMessage("How to run Atlas on Windows?")])), "m"
    )
    assert condensed.condense("And Windows?", [ChatTurn("user", "How to run Atlas?")]) == "How to run Atlas on Windows?"
