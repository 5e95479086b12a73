"""The reader through the real 1.5B GGUF (the `reader` extra's parts, joined once into a shared model cache):
a near miss is not answered, an option question is answered with the option's name, a follow-up is rewritten
before retrieval (in a llama.cpp context of its own), and the same reader runs on llama.cpp's own
OpenAI-compatible server. Beside them, a scripted answer model shows what the checks do with a generated answer
the real reader's decision let through. One model load for the module."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag_service.answering import TRUSTED, build_answerer
from rag_service.answering.base import ChatTurn
from rag_service.answering.chat import ChatModelAnswerer
from rag_service.answering.reader import candidates
from rag_service.answering.reader.model import READER_SIZE, bundled_reader_path
from rag_service.answering.reader.openai_compatible import OpenAIReader
from rag_service.answering.request import AskRequest
from rag_service.answering.service import AskResult, ask
from rag_service.indexing import ingest_folder
from rag_service.retrieval import SearchOptions
from rag_service.runtime import Runtime
from tests.conftest import READER_CACHE, make_settings
from tests.integration.server import llama_cpp_server

pytestmark = pytest.mark.slow

BACKUP = """= atlas-backup(1)

== NAME

atlas-backup - copy the gateway's data to object storage

== OPTIONS

--retention-days=<n>::
\tKeep each snapshot for <n> days before it is pruned. The default is 35 days.

--compress::
\tCompress each snapshot with zstd before it is uploaded, which makes uploads about three times smaller.

--bucket=<name>::
\tThe object storage bucket the snapshots are written to.
"""

POSTGRES = """# Database access

## Authentication methods in pg_hba.conf

Each record of pg_hba.conf names a connection type, a database, a user, a client address and a method.

The `trust` method lets the connection in unconditionally, without any password. Use it only where every
local user may be every database user.

The `scram-sha-256` method checks the password with SCRAM-SHA-256 authentication, which stops password
sniffing on the network.
"""


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("reader")
    docs = root / "docs"
    (docs / "cli").mkdir(parents=True)
    (docs / "cli" / "atlas-backup.txt").write_text(BACKUP)
    (docs / "database.md").write_text(POSTGRES)
    runtime = Runtime(make_settings(root, reader="llamacpp", model_cache_dir=READER_CACHE))
    ingest_folder(runtime, "ops", docs)
    return runtime


def asked(runtime: Runtime, question: str, history: list[ChatTurn] | None = None) -> AskResult:
    answerer = build_answerer(runtime.settings, "extractive", policy=TRUSTED)
    options = SearchOptions.from_settings(runtime, top_k=3)
    return ask(runtime, AskRequest("ops", question, answerer, options, history=history or []))


def test_the_bundled_model_is_joined_from_its_parts() -> None:
    path = bundled_reader_path(READER_CACHE)
    assert path.stat().st_size == READER_SIZE
    assert path.with_name(path.name + ".sha256").is_file()


def test_an_option_question_is_answered_with_the_options_name(reading: Runtime) -> None:
    result = asked(reading, "How can I make the backup uploads smaller?")
    assert result.status == "answered" and result.answered
    assert "--compress" in result.answer and "zstd" in result.answer
    verdict = result.decision["reader"]
    assert verdict["chosen"]["text"].startswith("--compress::") and verdict["p_answer"] >= 0.5
    assert result.citations and result.citations[0].path == "cli/atlas-backup.txt"


def test_a_near_miss_is_not_answered(reading: Runtime) -> None:
    """The passages are about backups and their options, but none says how snapshots are encrypted."""
    result = asked(reading, "Which atlas-backup option encrypts the snapshots with our own key?")
    assert result.status in ("partial", "declined") and not result.answered
    assert not result.citations
    if result.status == "partial":
        assert "may not answer" in result.answer and result.hits


def test_a_follow_up_is_rewritten_by_the_reader_before_retrieval(reading: Runtime) -> None:
    first = asked(reading, "What does the --retention-days option of atlas-backup do?")
    history = [
        ChatTurn("user", "What does the --retention-days option of atlas-backup do?"),
        ChatTurn("assistant", first.answer),
    ]
    result = asked(reading, "What is its default value?", history)
    assert result.standalone_question != "What is its default value?"
    assert "retention" in result.standalone_question.lower()
    assert result.answered and "35" in result.answer


def test_a_rewrite_does_not_evict_the_judgements_kept_prompt(reading: Runtime) -> None:
    """The rewrite runs in a llama.cpp context of its own: after it, judging again evaluates only what it did
    before the rewrite, not the instruction and question again."""
    reader = reading.reader
    assert reader is not None
    question = "How long is a snapshot kept?"
    hits = asked(reading, question).hits
    shown = candidates(question, question, hits, None, 3)
    reader.judge(question, shown)
    again = reader.judge(question, shown).prompt_tokens
    reader.rewrite("And its default?", [ChatTurn("user", question), ChatTurn("assistant", "35 days.")])
    assert reader.judge(question, shown).prompt_tokens == again


def scripted_ask(runtime: Runtime, question: str, reply: str) -> AskResult:
    """The real reader decides; a scripted model writes the answer."""
    answerer = ChatModelAnswerer("scripted", GenericFakeChatModel(messages=iter([AIMessage(reply)])), "memory")
    return ask(runtime, AskRequest("ops", question, answerer, SearchOptions.from_settings(runtime, top_k=3)))


def test_a_generated_sentence_the_passages_do_not_carry_gives_way_to_the_readers_quote(reading: Runtime) -> None:
    reply = "Use --compress, which compresses snapshots with zstd [1]. It also encrypts them with AES-256 [1]."
    result = scripted_ask(reading, "How can I make the backup uploads smaller?", reply)
    assert result.status == "answered" and result.answered and result.unsupported == []
    assert "--compress" in result.answer and "zstd" in result.answer and "AES" not in result.answer
    assert result.citations and result.citations[0].path == "cli/atlas-backup.txt"


def test_a_generated_answer_the_passages_carry_stands_and_the_models_decline_too(reading: Runtime) -> None:
    reply = "Pass --compress: each snapshot is compressed with zstd before it is uploaded [1]."
    result = scripted_ask(reading, "How can I make the backup uploads smaller?", reply)
    assert result.answered and result.answer == reply and result.unsupported == []
    declined = scripted_ask(
        reading, "How can I make the backup uploads smaller?", "I don't know: the documents do not say."
    )
    assert declined.status == "declined" and not declined.answered and not declined.citations


def test_the_trust_method_is_answered_from_its_own_sentence(reading: Runtime) -> None:
    result = asked(reading, "What does the trust method in pg_hba.conf do?")
    assert result.answered and result.answer.startswith("The `trust` method lets the connection in unconditionally")
    assert result.citations[0].path == "database.md"


@pytest.fixture(scope="module")
def reader_server() -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server with the bundled reader model, on a loopback port."""
    with llama_cpp_server(str(bundled_reader_path(READER_CACHE)), "reader", 2048) as base_url:
        yield base_url


def test_the_openai_reader_through_llama_cpp_server(reading: Runtime, reader_server: str) -> None:
    from rag_service.retrieval import retrieve

    question = "How can I make the backup uploads smaller?"
    hits = retrieve(reading, "ops", question, SearchOptions.from_settings(reading, top_k=3))
    shown = candidates(question, question, hits, None, 6)
    reader = OpenAIReader(reader_server, "reader", "", 60.0)
    verdict = reader.judge(question, shown)
    assert len(verdict.scores) == len(shown) and all(0.0 <= p <= 1.0 for p in verdict.scores)
    assert verdict.chosen is not None and verdict.chosen.text.startswith("--compress::")
    rewritten = reader.rewrite(
        "What is its default value?",
        [ChatTurn("user", "What does --retention-days do?"), ChatTurn("assistant", "Keeps snapshots for n days.")],
    )
    assert "retention" in rewritten.lower()


def test_info_names_the_reader(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = cli_env | {"RAG_READER": "auto", "RAG_MODEL_CACHE_DIR": str(READER_CACHE)}
    shown = subprocess.run(
        [sys.executable, "-m", "rag_service", "info"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "reader: llamacpp, bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M (auto: the reader model is installed)" in shown
    off = subprocess.run(
        [sys.executable, "-m", "rag_service", "info"], env=env | {"RAG_READER": "off"}, capture_output=True, text=True
    ).stdout
    assert "reader: off (RAG_READER=off: the extractive rules decide alone)" in off


def test_a_chinese_question_in_an_english_collection_is_declined_not_quoted(reading: Runtime) -> None:
    """MiniLM does not read Chinese: nothing retrieved shares a word with the question, so no sentence is a
    candidate and the answer is the decline, in Chinese, rather than a confident quote of an unrelated page."""
    result = asked(reading, "备份默认保留多少天？")
    assert result.status == "declined" and result.answer == "文档中没有找到答案。"
    assert not result.citations
