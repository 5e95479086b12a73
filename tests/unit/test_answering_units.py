"""Fusion, filters, citations, prompts, condensation and the extractive answerer, without models or servers."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from rag_service.answering.base import NOT_FOUND_ANSWER, NOT_FOUND_ANSWER_ZH, AnswerRequest, ChatTurn
from rag_service.answering.chat import ChatModelAnswerer
from rag_service.answering.citations import (
    build_citations,
    cited_numbers,
    is_decline,
    remove_invalid_markers,
)
from rag_service.answering.condense import condense_by_rule
from rag_service.answering.evidence import EvidenceThresholds, assess, unmet_quantity
from rag_service.answering.extractive import ExtractiveAnswerer, split_units
from rag_service.answering.prompt import DECLINE_SENTENCE, build_messages, fit_passages, format_passages
from rag_service.answering.terms import default_term
from rag_service.retrieval import Hit, join_overlapping, path_matches, reciprocal_rank_fusion
from rag_service.stores.lexical_index import LexicalIndex


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


def test_bm25_matches_words_by_their_stem_and_counts_chunks_per_stem() -> None:
    index = LexicalIndex()
    index.load(
        [(1, "Deleting remote branches"), (2, "The branch is checked out"), (3, "Tags and notes"), (4, "员工报销")]
    )
    ranked = [chunk_id for chunk_id, _ in index.search("how do I delete a branch", 3)]
    assert ranked[0] == 1 and set(ranked) == {1, 2}
    assert index.document_frequencies()["branch"] == 2
    assert index.search("报销", 3)[0][0] == 4


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
        "heading": "",
        "start_line": 10,
        "end_line": 14,
    }
    assert citations[1].to_dict()["page"] == 3 and citations[1].location() == "b.pdf p.3"


def test_declines_are_recognised() -> None:
    assert is_decline(DECLINE_SENTENCE)
    assert is_decline(NOT_FOUND_ANSWER)
    assert is_decline("The documents do not say how to do that.")
    assert is_decline(NOT_FOUND_ANSWER_ZH) and is_decline("我不知道：文档中没有说明。")
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


def test_condense_by_rule_keeps_the_earlier_subject() -> None:
    history = [ChatTurn("user", "How do I install Atlas on Linux?"), ChatTurn("assistant", "Run install.sh [1].")]
    assert condense_by_rule("And on Windows?", history) == "And on Windows? (install Atlas, Linux)"
    standalone = "What is the retention period for customer logs in the data policy?"
    assert condense_by_rule(standalone, history) == standalone
    assert condense_by_rule("And on Windows?", []) == "And on Windows?"
    # Three turns: the most recent turn's words first, and the first turn's subject is not lost.
    history = [
        ChatTurn("user", "What does functools.lru_cache do?"),
        ChatTurn("assistant", "It caches results [1]."),
        ChatTurn("user", "How do I clear it?"),
        ChatTurn("assistant", "Call cache_clear() [1]."),
    ]
    condensed = condense_by_rule("And how many results does it keep by default?", history)
    assert condensed == "And how many results does it keep by default? (clear, functools.lru_cache)"
    assert condense_by_rule("那怎么撤销？", [ChatTurn("user", "如何提交更改？")]).startswith("那怎么撤销？")


def test_extractive_quotes_one_contiguous_excerpt_with_its_example() -> None:
    answerer = ExtractiveAnswerer()
    passages = [
        hit(
            1,
            "Old keys stay valid for 24 hours after rotation.\n\n"
            "To rotate the keys, run the rotate command:\n\n"
            "    $ atlas keys rotate --all\n\n"
            "Nothing else is needed.",
        ),
        hit(2, "Backups run nightly. Restore a snapshot with atlas restore --snapshot ID.", dense=0.4),
    ]
    answer = answerer.answer(AnswerRequest("How do I rotate the keys?", passages))
    assert answer.startswith("To rotate the keys, run the rotate command:\n\n```\n$ atlas keys rotate --all\n```")
    assert answer.endswith("[1]") and "[2]" not in answer


def test_extractive_keeps_an_option_with_its_description() -> None:
    text = (
        "--verbose::\n\tPrint more.\n\n"
        "--include-untracked::\n\tAll untracked files are also stashed and then cleaned up.\n"
    )
    answer = ExtractiveAnswerer().answer(AnswerRequest("How do I stash untracked files too?", [hit(1, text)]))
    assert answer == "--include-untracked::\n\nAll untracked files are also stashed and then cleaned up. [1]"


def test_an_excerpt_inside_an_option_description_starts_where_the_description_does() -> None:
    text = (
        "-e <pattern>::\n--exclude=<pattern>::\n\tUse the given exclude pattern in addition to the ignore rules.\n"
        # no blank line: the splitter's overlap join can drop it, and "-x::" must still start an entry
        "-x::\n"
        "\tWhen recording the commit, append a line that says where it was cherry-picked from. This is done\n"
        "\tonly for picks without conflicts. Do not use this option for private branches. If you pick\n"
        "\tbetween two public branches (e.g. backporting a fix to a maintenance branch), this is useful.\n"
    )
    terms = [u.text for u in split_units(text) if u.kind == "term"]
    assert terms == ["-e <pattern>::", "--exclude=<pattern>::", "-x::"]
    question = "When I backport a fix to a maintenance branch, how can the message say which commit it came from?"
    answer = ExtractiveAnswerer().answer(AnswerRequest(question, [hit(1, text)]))
    # The best sentence is the last; the excerpt starts at the option and the sentence that says what it does.
    assert answer.startswith("-x::\n\nWhen recording the commit, append a line")
    assert answer.endswith("this is useful. [1]") and "exclude pattern" not in answer


def test_an_faq_question_written_as_a_list_term_titles_its_answer() -> None:
    text = (
        "[[ignore-tracked-files]]\nHow do I ignore changes to a tracked file?::\n"
        "\tGit doesn't provide a way to do this.  It has to take the safe route and preserve them.\n\n"
        "Why are my files still tracked after adding them to .gitignore?::\n\tThey were tracked before.\n"
    )
    units = split_units(text)
    titles = [u.text for u in units if u.kind == "title"]
    assert titles == [
        "How do I ignore changes to a tracked file?",
        "Why are my files still tracked after adding them to .gitignore?",
    ]
    first = next(u for u in units if u.text.startswith("Git doesn't provide"))
    assert {"ignor", "chang", "track", "file"} <= first.section
    answer = ExtractiveAnswerer().answer(
        AnswerRequest("Can git ignore local changes to a tracked file?", [hit(1, text)])
    )
    assert answer.startswith("Git doesn't provide a way to do this.")


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("Which pickle protocol does Python use when I don't specify one?", "default"),
        ("How many threads does it start without passing max_workers?", "default"),
        ("如果不指定协议，pickle 用哪个？", "默认"),
        ("Which pickle protocol is the newest?", None),
    ],
)
def test_questions_about_what_is_used_when_nothing_is_chosen_are_recognised(question: str, term: str | None) -> None:
    assert default_term(question) == term


def test_a_question_about_what_is_used_when_nothing_is_chosen_quotes_the_default() -> None:
    text = (
        "Protocol version 3 was added in Python 3.0. It has explicit support for bytes objects. "
        "It cannot be unpickled by Python 2.x.\n\nProtocol 4 is the default. It adds support for very large objects."
    )
    question = "Which pickle protocol does Python use when I don't specify one?"
    weights = {"pickl": 3.0, "protocol": 2.0, "python": 0.5, "specifi": 1.0}
    answer = ExtractiveAnswerer().answer(AnswerRequest(question, [hit(1, text)], term_weights=weights))
    # "default" weighs as much as "pickle", the rarest term: the sentence that names the default wins.
    assert answer == "Protocol 4 is the default. It adds support for very large objects. [1]"


def test_extractive_follow_up_does_not_repeat_the_previous_answer() -> None:
    text = (
        "Create an environment with python -m venv env. Activate it with source env/bin/activate. "
        "Leave it with deactivate."
    )
    history = [
        ChatTurn("user", "How do I create a virtual environment?"),
        ChatTurn("assistant", "Create an environment with python -m venv env. [1]"),
    ]
    request = AnswerRequest(
        "How do I leave it? (create virtual environment)", [hit(1, text)], history, "How do I leave it?"
    )
    answer = ExtractiveAnswerer().answer(request)
    assert "Create an environment" not in answer and "deactivate" in answer


def test_extractive_without_matching_terms_declines() -> None:
    passages = [hit(1, "Backups run nightly.", dense=0.2)]
    assert ExtractiveAnswerer().answer(AnswerRequest("How do I rotate keys?", passages)) == NOT_FOUND_ANSWER
    assert ExtractiveAnswerer().answer(AnswerRequest("How do I rotate keys?", [])) == NOT_FOUND_ANSWER
    assert ExtractiveAnswerer().answer(AnswerRequest("怎么轮换密钥？", [])) == NOT_FOUND_ANSWER_ZH


def test_units_keep_code_blocks_whole_and_read_indented_prose_as_prose() -> None:
    text = (
        "Set it like this:\n\n```ini\n[core]\n\tautocrlf = true\n```\n\n"
        "term::\n\tAn indented description, which is prose and not an example.\n\n"
        "[[anchor-id]]\n- one item\n- two items here\n\nJSON | Python\n---|---\nobject | dict"
    )
    kinds = [(unit.kind, unit.text.splitlines()[0]) for unit in split_units(text)]
    assert kinds == [
        ("prose", "Set it like this:"),
        ("code", "```ini"),
        ("term", "term::"),
        ("prose", "An indented description, which is prose and not an example."),
        ("item", "- one item"),
        ("item", "- two items here"),
        ("table", "JSON | Python"),
    ]


def test_citation_points_at_the_quoted_excerpt() -> None:
    from rag_service.answering.citations import ChunkText

    passage = hit(1, "Intro line.\nSecond line.\nThe answer is here.\nLast line.")
    passage.chunk_ids = [101, 102]
    chunks = {
        101: ChunkText("Intro line.\nSecond line.", 10, None, "Guide"),
        102: ChunkText("The answer is here.\nLast line.", 12, None, "Guide > Answers"),
    }
    [citation] = build_citations("The answer is here. [1]", [passage], chunks)
    assert (citation.start_line, citation.end_line, citation.heading) == (12, 12, "Guide > Answers")
    assert citation.quote == "The answer is here."
    [whole] = build_citations("A paraphrase of it [1].", [passage], chunks)
    assert (whole.start_line, whole.end_line) == (10, 14)


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


def test_a_second_excerpt_that_repeats_the_first_is_left_out() -> None:
    example = "Pretty-print JSON from the shell:\n\n    $ echo '{\"a\": 1}' | python -m json.tool\n"
    passages = [
        hit(1, example),
        hit(2, "Use json.tool to pretty-print JSON:\n\n    $ echo '{\"a\": 1}' | python -m json.tool\n"),
    ]
    answer = ExtractiveAnswerer().answer(AnswerRequest("How do I pretty-print JSON?", passages))
    assert answer.count("python -m json.tool") == 1 and "[2]" not in answer


def test_citation_quote_keeps_numbers_inside_the_text() -> None:
    from rag_service.answering.citations import ChunkText

    passage = hit(1, "Expecting a property name: line 1 column 2 (char 1)\n- one item")
    chunks = {101: ChunkText(passage.text, 3, None, "CLI")}
    [citation] = build_citations("Expecting a property name: line 1 column 2 (char 1) [1]", [passage], chunks)
    assert citation.quote.endswith("(char 1)") and citation.start_line == 3


@pytest.mark.parametrize(
    ("question", "passage", "unmet"),
    [
        ("How many bytes does an empty dict take?", "An empty dict takes 64 bytes.", None),
        ("How many bytes does an empty dict take?", "A dict maps keys to values.", "a size"),
        ("Which year was the module added?", "It was added in 2001.", None),
        ("On what date does 3.11 stop getting fixes?", "Support ends in October 2027.", None),
        ("On what date does 3.11 stop getting fixes?", "Released in 2022; you may upgrade.", "a date"),
        ("When will the 3.11 series end?", "on 2027-10-24", None),
        ("How much does the LTS contract cost?", "Freexian offers LTS contracts.", "a price"),
        ("How much does the LTS contract cost?", "It costs $1,500 a year, or 1200 EUR.", None),
        ("How much does the LTS contract cost?", "| Item | Cost |\n| --- | --- |\n| LTS contract | 1500 |", None),
        ("How much does the LTS contract cost?", "| Item | Owner |\n| --- | --- |\n| LTS contract | 15 |", "a price"),
        ("How do I install the package?", "Run apt install.", None),
    ],
)
def test_quantity_questions_need_that_kind_of_number(question: str, passage: str, unmet: str | None) -> None:
    assert unmet_quantity(question, passage) == unmet


def test_a_sheet_passage_ranked_first_still_shows_its_figures() -> None:
    sheet = "| Item | Cost | Owner |\n| --- | --- | --- |\n| Quantum annealer rental | 48000 | Research |"
    hits = [hit(1, sheet, path="budget.xlsx"), hit(2, "Support costs fell.", path="deck.pptx")]
    question = "How much does the quantum annealer rental cost?"
    weights = {"quantum": 3.0, "anneal": 3.0, "rental": 2.0, "cost": 1.0}
    evidence = assess(question, hits, weights, {}, EvidenceThresholds(0.3, 0.1))
    assert evidence.answerable, evidence.reason
