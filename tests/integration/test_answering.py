"""Retrieval and answering with real components: hybrid search, filters, Chinese, llama.cpp in process,
llama-cpp-python's own OpenAI-compatible server, and backends that refuse or hang."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from sqlalchemy import select

from rag_service.answering import TRUSTED, Answerer, build_answerer, service
from rag_service.answering.base import ChatTurn
from rag_service.answering.chat import ChatModelAnswerer
from rag_service.answering.follow_ups import follow_up_options
from rag_service.answering.llamacpp import bundled_model_path
from rag_service.answering.request import AskRequest
from rag_service.db.models import Chunk
from rag_service.indexing import ingest_folder
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime
from rag_service.stores.lexical_index import tokenize
from tests.conftest import make_settings
from tests.integration.server import free_port, llama_cpp_server


@pytest.fixture
def team(sqlite_runtime: Runtime, corpus: Path) -> Runtime:
    ingest_folder(sqlite_runtime, "team", corpus)
    return sqlite_runtime


def options(runtime: Runtime, **overrides: object) -> SearchOptions:
    return SearchOptions.from_settings(runtime, **overrides)


def ask_events(
    runtime: Runtime, collection: str, question: str, opts: SearchOptions, answerer: Answerer, history=None
) -> Iterator[tuple[str, object]]:
    return service.ask_events(runtime, AskRequest(collection, question, answerer, opts, history=history or []))


def ask(
    runtime: Runtime, collection: str, question: str, opts: SearchOptions, answerer: Answerer, history=None
) -> service.AskResult:
    return service.final_result(ask_events(runtime, collection, question, opts, answerer, history))


def test_lexical_finds_exact_terms_and_hybrid_fuses(team: Runtime) -> None:
    lexical = retrieve(team, "team", "AtlasSetup.msi", options(team, mode="lexical", top_k=3))
    assert lexical[0].path == "handbook.md" and "AtlasSetup.msi" in lexical[0].text
    assert lexical[0].lexical_score == 1.0 and lexical[0].dense_score is None
    hybrid = retrieve(team, "team", "AtlasSetup.msi wizard", options(team, mode="hybrid", top_k=3))
    assert hybrid[0].path == "handbook.md"
    assert hybrid[0].dense_score is not None and hybrid[0].lexical_score is not None
    assert 0 < hybrid[0].score <= 1.0


def test_filters_and_min_score(team: Runtime) -> None:
    under = retrieve(team, "team", "schedule", options(team, path_filter="guides/", top_k=10))
    assert under and all(h.path.startswith("guides/") for h in under)
    globbed = retrieve(team, "team", "schedule", options(team, path_filter="*.rst", top_k=10))
    assert {h.path for h in globbed} == {"guides/monitoring.rst"}
    assert retrieve(team, "team", "schedule", options(team, path_filter="nothing/here", top_k=5)) == []
    strict = retrieve(team, "team", "backup schedule", options(team, mode="dense", min_score=0.99, top_k=5))
    assert strict == []


def test_search_shows_what_ask_gives_the_answerer(team: Runtime) -> None:
    opts = options(team, top_k=3)
    hits = retrieve(team, "team", "how do we rotate the API keys", opts)
    result = ask(
        team, "team", "how do we rotate the API keys", opts, build_answerer(team.settings, "extractive", policy=TRUSTED)
    )
    assert [h.chunk_id for h in result.hits] == [h.chunk_id for h in hits]
    assert result.answered and "atlas keys rotate" in result.answer
    assert result.citations and result.citations[0].path == "handbook.md"
    assert all(1 <= c.n <= len(hits) for c in result.citations)


def test_extractive_declines_off_topic_question(team: Runtime) -> None:
    result = ask(
        team,
        "team",
        "What is the airspeed velocity of an unladen swallow?",
        options(team),
        build_answerer(team.settings, policy=TRUSTED),
    )
    assert not result.answered and result.citations == []
    assert result.hits  # the sources are still shown


def test_follow_up_is_condensed_before_retrieval(team: Runtime) -> None:
    history = [ChatTurn("user", "How do I install Atlas on Linux?"), ChatTurn("assistant", "Run install.sh [1].")]
    result = ask(
        team, "team", "And on Windows?", options(team, top_k=2), build_answerer(team.settings, policy=TRUSTED), history
    )
    assert result.standalone_question == "And on Windows? (install Atlas, Linux)"
    assert any("AtlasSetup.msi" in h.text for h in result.hits)
    assert result.answered and "AtlasSetup.msi" in result.answer


def test_follow_up_prefers_the_documents_its_conversation_was_about(team: Runtime) -> None:
    history = [ChatTurn("user", "How do I install Atlas on Linux?"), ChatTurn("assistant", "Run install.sh [1].")]
    plain = options(team, top_k=3)
    standalone = "And on Windows? (install Atlas, Linux)"
    preferred = follow_up_options(team, "team", "And on Windows?", standalone, history, plain)
    earlier = retrieve(team, "team", "How do I install Atlas on Linux?", options(team, top_k=3))
    assert preferred.prefer_documents == {h.document_id for h in earlier} and preferred.prefer_bonus == 0.05
    unpreferred = {h.chunk_id: h.score for h in retrieve(team, "team", standalone, plain)}
    for hit in retrieve(team, "team", standalone, preferred):
        if hit.chunk_id in unpreferred and len(hit.chunk_ids) == 1:
            bonus = 0.05 if hit.document_id in preferred.prefer_documents else 0.0
            assert hit.score == pytest.approx(unpreferred[hit.chunk_id] + bonus, abs=1e-5)
    # A question that stands on its own is retrieved as it is.
    assert follow_up_options(team, "team", "What is Atlas?", "What is Atlas?", history, plain) == plain


class RecordingChatModel(GenericFakeChatModel):
    """A scripted chat model beside the real llama.cpp tests: it records every prompt it is sent."""

    prompts: list[str]

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._stream(messages, stop, run_manager, **kwargs)


def scripted(reply: str) -> tuple[ChatModelAnswerer, RecordingChatModel]:
    model = RecordingChatModel(messages=iter([AIMessage(reply)]), prompts=[])
    return ChatModelAnswerer("scripted", model, "memory"), model


def test_every_backend_gets_the_same_evidence_check(team: Runtime) -> None:
    answerer, model = scripted("Gitea listens on port 22 [1].")
    result = ask(team, "team", "What port does a Gitea server use for SSH?", options(team), answerer)
    assert not result.answered and model.prompts == []  # declined before the model was asked
    assert result.evidence is not None and "Gitea" in result.evidence.missing
    assert result.hits  # the sources are still shown


def test_llm_prompt_numbers_passages_with_file_and_section(team: Runtime) -> None:
    answerer, model = scripted("Run `atlas keys rotate --all` [1].")
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert result.answered and not result.uncited and result.citations[0].path == "handbook.md"
    [prompt] = model.prompts
    assert "[1] handbook.md:3-19 (Operations handbook)\n" in prompt and "## Rotate API keys" in prompt
    assert "reply exactly" in prompt and "language of the question" in prompt


def test_llm_markers_are_checked_and_a_supported_sentence_is_cited(team: Runtime) -> None:
    answerer, _ = scripted("To rotate the API keys, run atlas keys rotate --all and restart the gateway [9].")
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert "[9]" not in result.answer and "restart the gateway [1]." in result.answer
    assert result.answered and not result.uncited and result.citations[0].path == "handbook.md"
    assert result.unsupported == []


def test_llm_sentence_no_passage_supports_is_flagged(team: Runtime) -> None:
    answerer, _ = scripted("Bananas ripen faster in paper bags next to apples [9].")
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert result.answered and result.uncited and result.citations == []
    assert result.unsupported == ["Bananas ripen faster in paper bags next to apples."]


@pytest.mark.parametrize("reply", ["I don't know: the documents do not say.", "我不知道：文档中没有说明。"])
def test_llm_decline_is_recognised_in_english_and_chinese(team: Runtime, reply: str) -> None:
    answerer, _ = scripted(reply)
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert not result.answered and result.citations == []


CHINESE_DOCS = {
    "部署指南.md": "# 部署指南\n\n## 数据库备份\n\n每天凌晨三点自动备份数据库，备份文件保留三十天。\n",
    "报销制度.md": "# 报销制度\n\n员工出差后需要在十五个工作日内提交报销申请，并附上发票原件。\n",
    "休假.md": "# 休假政策\n\n正式员工每年享有十五天带薪年假，可以分多次使用。\n",
}


def test_bm25_cuts_chinese_into_words() -> None:
    tokens = tokenize("员工出差后需要提交报销申请")
    assert "报销" in tokens and "申请" in tokens
    assert "员工出差后需要提交报销申请" not in tokens


def test_chinese_question_over_chinese_documents(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "zh"
    folder.mkdir()
    for name, text in CHINESE_DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    ingest_folder(sqlite_runtime, "zh", folder, embedder="multilingual")
    for mode in ("hybrid", "dense", "lexical"):
        hits = retrieve(sqlite_runtime, "zh", "出差报销要在多少天内提交？", options(sqlite_runtime, mode=mode, top_k=3))
        assert hits[0].path == "报销制度.md", mode
    result = ask(
        sqlite_runtime,
        "zh",
        "数据库备份保留多久？",
        options(sqlite_runtime, top_k=2),
        build_answerer(sqlite_runtime.settings, policy=TRUSTED),
    )
    assert result.hits[0].path == "部署指南.md"
    assert result.answered and "三十天" in result.answer and result.citations[0].path == "部署指南.md"
    # A query always uses its collection's embedder: the multilingual one is 512-d, MiniLM 384-d.
    from rag_service.collections import find_collection

    with sqlite_runtime.sessions() as session:
        assert sqlite_runtime.indexes.get(find_collection(session, "zh")).vectors.dimension == 512


@pytest.mark.slow
def test_llamacpp_backend_answers_in_process(team: Runtime) -> None:
    assert Path(bundled_model_path()).is_file()
    answerer = build_answerer(team.settings, "llamacpp", {"max_tokens": 48}, policy=TRUSTED)
    events = list(ask_events(team, "team", "How do I rotate the API keys?", options(team, top_k=2), answerer))
    tokens = [value for kind, value in events if kind == "token"]
    assert len(tokens) > 3  # streamed piece by piece
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"] and "error" not in kinds
    result = events[-1][1]
    assert result.answer and result.backend == "llamacpp"
    assert all(1 <= c.n <= 2 for c in result.citations)


def test_llamacpp_backend_with_a_missing_model_file_is_a_clear_error(team: Runtime, tmp_path: Path) -> None:
    answerer = build_answerer(team.settings, "llamacpp", {"model_path": str(tmp_path / "none.gguf")}, policy=TRUSTED)
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert result.error and "no GGUF model file" in result.error and result.hits


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server, on a free loopback port, with the bundled GGUF."""
    with llama_cpp_server(bundled_model_path(), "smollm2", 4096) as base_url:
        yield base_url


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(team: Runtime, llama_server: str) -> None:
    answerer = build_answerer(
        team.settings, "openai", {"base_url": llama_server, "model": "smollm2", "max_tokens": 48}, policy=TRUSTED
    )
    events = list(ask_events(team, "team", "How do I rotate the API keys?", options(team, top_k=2), answerer))
    tokens = [value for kind, value in events if kind == "token"]
    assert len(tokens) > 3
    result = events[-1][1]
    assert result.error is None and result.answer and result.backend == "openai"
    assert all(1 <= c.n <= 2 for c in result.citations)


@pytest.mark.slow
def test_cli_ask_with_openai_backend(corpus: Path, cli_env: dict[str, str], llama_server: str) -> None:
    cli = [sys.executable, "-m", "rag_service"]
    subprocess.run([*cli, "ingest", str(corpus), "-c", "team"], env=cli_env, check=True, capture_output=True)
    args = [
        "ask",
        "How do I rotate the API keys?",
        "-c",
        "team",
        "--llm",
        "openai",
        "--llm-base-url",
        llama_server,
        "--llm-model",
        "smollm2",
        "--json",
    ]
    result = subprocess.run(
        [*cli, *args], env={**cli_env, "RAG_LLM_MAX_TOKENS": "48"}, capture_output=True, text=True, check=True
    )
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "answered", "citations", "hits"} and data["answer"]
    plain = subprocess.run(
        [*cli, "ask", "How do I rotate the API keys?", "-c", "team"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Sources:" in plain.stdout and "[1] handbook.md:" in plain.stdout
    assert re.search(r"^\[1\] handbook\.md:\d+-\d+ \(Operations handbook", plain.stdout, re.MULTILINE)  # its section


def test_refused_connection_names_backend_and_keeps_sources(
    team: Runtime, cli_env: dict[str, str], corpus: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    answerer = build_answerer(team.settings, "openai", {"base_url": url}, policy=TRUSTED)
    team.settings.llm_retries = 0
    result = ask(team, "team", "How do I rotate the API keys?", options(team), answerer)
    assert result.error and f"openai at {url} failed" in result.error and "Connection" in result.error
    assert result.hits and not result.answered

    cli = [sys.executable, "-m", "rag_service"]
    subprocess.run([*cli, "ingest", str(corpus), "-c", "team"], env=cli_env, check=True, capture_output=True)
    env = {**cli_env, "RAG_LLM_RETRIES": "0"}
    failed = subprocess.run(
        [*cli, "ask", "rotate keys", "-c", "team", "--llm", "openai", "--llm-base-url", url],
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert f"openai at {url} failed" in failed.stderr
    assert "Retrieved passages:" in failed.stdout and "handbook.md" in failed.stdout


def test_hanging_backend_times_out(team: Runtime) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    settings = team.settings.model_copy(update={"llm_timeout_seconds": 1.5, "llm_retries": 0})
    started = time.monotonic()
    result = ask(
        team,
        "team",
        "How do I rotate the API keys?",
        options(team),
        build_answerer(settings, "openai", {"base_url": url}, policy=TRUSTED),
    )
    assert time.monotonic() - started < 20
    assert result.error and "Timeout" in result.error and url in result.error
    listener.close()


def test_reranker_reorders_hits_before_merging(team: Runtime) -> None:
    """No cross-encoder ships offline; a scripted one checks the plumbing (RAG_RERANKER picks a real one)."""

    class Reverse:
        def rerank(self, query: str, hits: list) -> list:  # type: ignore[type-arg]
            return list(reversed(hits))

    plain = retrieve(team, "team", "rotate the API keys", options(team, mode="dense", top_k=50, merge_neighbours=False))
    team.reranker = Reverse()  # type: ignore[misc]
    reranked = retrieve(
        team, "team", "rotate the API keys", options(team, mode="dense", top_k=50, merge_neighbours=False)
    )
    assert [h.chunk_id for h in reranked] == [h.chunk_id for h in reversed(plain)]


CACHE_GUIDE = """# The build cache

## Emptying it

The build cache keeps compiled objects for every branch you have built, and it grows without bound on busy
machines. Old entries are never removed by themselves, because the cache cannot know which branches you will
build again. When the disk fills up, or after a toolchain upgrade that makes every entry useless, empty it by
hand. To empty the build cache completely, run:

```
buildctl prune --all --force
```

Release notes are published on Fridays, and the mailing list announces each one with its download links.
"""
# Other pages about the build cache, so that the chunk holding the command is no near neighbour in the ranking.
CACHE_PAGES = {
    "size.md": "# Cache size\n\nThe build cache grows with every branch built; on busy machines the build cache "
    "can take hundreds of gigabytes. Watch the build cache size on the dashboard.\n",
    "where.md": "# Cache location\n\nThe build cache lives under /var/cache/build; move the build cache to a "
    "larger disk by changing cache_dir. Every machine has its own build cache.\n",
}


def test_a_passage_that_introduces_an_example_brings_the_example(tmp_path: Path) -> None:
    runtime = Runtime(make_settings(tmp_path, chunk_size_tokens=90))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cache.md").write_text(CACHE_GUIDE)
    for name, text in CACHE_PAGES.items():
        (folder / name).write_text(text)
    ingest_folder(runtime, "ops", folder)
    with runtime.sessions() as session:
        texts = session.scalars(select(Chunk.text).order_by(Chunk.ordinal)).all()
    assert any(t.rstrip().endswith("run:") for t in texts), "the splitter no longer cuts before the example"
    question = "How do I empty the build cache completely?"
    hits = retrieve(runtime, "ops", question, options(runtime, top_k=1))
    assert hits[0].path == "cache.md" and "buildctl prune --all --force" in hits[0].text
    result = ask(runtime, "ops", question, options(runtime, top_k=1), build_answerer(runtime.settings, policy=TRUSTED))
    assert "buildctl prune --all --force" in result.answer and result.citations[0].path == "cache.md"
