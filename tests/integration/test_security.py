"""Regression tests for issue 10's findings, each against real servers and real databases."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text

from rag_service.answering import TRUSTED, LlmPolicy, NotAllowedError, build_answerer
from rag_service.answering.availability import backend_report
from rag_service.collections import find_collection
from rag_service.db.embedding_cache import load_cached_vectors
from rag_service.db.models import Chunk, Document, IngestRun
from rag_service.db.session import ALEMBIC_DIR, get_engine
from rag_service.errors import InvalidInputError
from rag_service.indexing import collection_write_lock, ingest_folder
from rag_service.jobs import JobManager
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime
from rag_service.stores.vector_index import VectorIndex, sidecar_path, text_hashes
from tests.conftest import make_settings
from tests.integration.server import free_port, running_server, wait_job, wait_ready
from tests.integration.stub_llm import StubLlm, stub_llm

SERVER_KEY = "sk-server-secret-4f1c9a"
HANDBOOK = b"# Keys\n\nThe atlas keys rotate every ninety days; the security team runs the rotation.\n"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ---- 1. the server's LLM key goes only where the operator said -------------------------------------------------


def test_default_policy_allows_only_the_configured_backend_url_and_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, openai_api_key=SERVER_KEY)
    policy = LlmPolicy.from_settings(settings)
    assert policy.backends == {"extractive"} and policy.models == {"local"}
    with pytest.raises(NotAllowedError, match="allowed: extractive"):
        build_answerer(settings, "llamacpp", policy=policy)
    with pytest.raises(NotAllowedError, match="not allowed"):
        build_answerer(settings, "openai", {"base_url": "http://127.0.0.1:8799/v1"}, policy=policy)
    with pytest.raises(NotAllowedError, match="set by the server's operator"):
        build_answerer(settings, "extractive", {"model_path": "/tmp/x.gguf"}, policy=policy)
    openai = make_settings(tmp_path, answerer="openai", openai_api_key=SERVER_KEY)
    policy = LlmPolicy.from_settings(openai)
    with pytest.raises(NotAllowedError, match="model 'gpt-4' is not allowed"):
        build_answerer(openai, "openai", {"model": "gpt-4"}, policy=policy)
    # The configured URL, however spelled, is the operator's and gets the key.
    same = build_answerer(openai, "openai", {"base_url": "HTTP://127.0.0.1:8080/v1/"}, policy=policy)
    assert same.chat_model.openai_api_key.get_secret_value() == SERVER_KEY  # type: ignore[attr-defined]
    # The trusted CLI may point anywhere, but the server's key still stays with the configured server.
    elsewhere = build_answerer(openai, "openai", {"base_url": "http://10.0.0.9/v1"}, policy=TRUSTED)
    assert elsewhere.chat_model.openai_api_key.get_secret_value() != SERVER_KEY  # type: ignore[attr-defined]


def test_an_allowed_base_url_is_compared_whole_so_a_query_cannot_redirect_the_key(tmp_path: Path) -> None:
    """Issue 25: `http://allowed/v1?x=http://other/` passed the allow-list (the comparison dropped the query) and
    moved the path the server posts to, with its key. The whole URL is compared; a query or fragment is refused
    with the reason, for API callers and the CLI alike."""
    allowed = "http://127.0.0.1:8080/v1"
    settings = make_settings(tmp_path, answerer="openai", openai_api_key=SERVER_KEY, openai_base_url=allowed)
    policy = LlmPolicy.from_settings(settings)
    for sneaky in (f"{allowed}?x=http://10.0.0.9/", f"{allowed}#x", f"{allowed}?", f"{allowed}/?a=b"):
        with pytest.raises(NotAllowedError, match="has a query string or fragment") as refused:
            build_answerer(settings, "openai", {"base_url": sneaky}, policy=policy)
        assert f"allowed: {allowed}" in str(refused.value)
        with pytest.raises(InvalidInputError, match="has a query string or fragment"):
            build_answerer(settings, "openai", {"base_url": sneaky}, policy=TRUSTED)
    # Anything but the case of scheme and host and one trailing slash is another URL, off the list.
    for other in (
        f"{allowed}//",
        f"{allowed}/chat",
        "http://127.0.0.1:8080/V1",
        "http://caller@127.0.0.1:8080/v1",
        "http://127.0.0.1:8080/v\t1",
    ):
        with pytest.raises(NotAllowedError):
            build_answerer(settings, "openai", {"base_url": other}, policy=policy)
    same = build_answerer(settings, "openai", {"base_url": "HTTP://127.0.0.1:8080/v1/"}, policy=policy)
    assert same.chat_model.openai_api_key.get_secret_value() == SERVER_KEY  # type: ignore[attr-defined]


def test_backend_report_says_what_is_usable_and_why_not(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    settings = make_settings(tmp_path, allowed_backends="extractive,openai", openai_base_url=dead)
    report = {s.name: s for s in backend_report(settings, LlmPolicy.from_settings(settings))}
    assert report["extractive"].usable
    assert not report["llamacpp"].allowed and "RAG_ALLOWED_BACKENDS" in (report["llamacpp"].reason or "")
    assert report["openai"].allowed and report["openai"].available is False
    assert "not reachable" in (report["openai"].reason or "") and dead not in (report["openai"].reason or "")
    trusted = {s.name: s for s in backend_report(settings, TRUSTED)}
    assert trusted["llamacpp"].usable and trusted["llamacpp"].loaded is not None


@pytest.fixture
def llm_servers() -> Iterator[tuple]:
    with (
        stub_llm(answer="The atlas keys rotate every ninety days [1].") as configured,
        stub_llm(answer="Allowed elsewhere: ninety days [1].", secret=SERVER_KEY) as allowed_other,
        stub_llm(secret=SERVER_KEY) as attacker,
    ):
        yield configured, allowed_other, attacker


def test_server_llm_key_never_reaches_a_caller_chosen_url(tmp_path: Path, llm_servers: tuple) -> None:
    configured, allowed_other, attacker = llm_servers
    settings = make_settings(
        tmp_path,
        api_keys="admin-key,reader-key:team:ro",
        openai_api_key=SERVER_KEY,
        openai_base_url=configured.url,
        allowed_backends="extractive,openai",
        allowed_llm_base_urls=f"{configured.url},{allowed_other.url}",
        llm_retries=0,
    )
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        admin, reader = auth("admin-key"), auth("reader-key")
        client.post("/api/collections", json={"name": "team"}, headers=admin)
        upload = client.post("/api/collections/team/files", files=[("files", ("keys.md", HANDBOOK))], headers=admin)
        assert wait_job(client, upload.json()["job_id"], headers=admin)["status"] == "done"

        def ask(llm: dict) -> httpx.Response:
            body = {"question": "How often do the atlas keys rotate?", "collection": "team", "llm": llm}
            return client.post("/api/ask", json=body, headers=reader)

        refused = ask({"backend": "openai", "base_url": attacker.url})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"
        assert "allowed:" in refused.json()["error"]["message"]
        streamed = client.post(
            "/api/ask",
            json={"question": "keys?", "collection": "team", "stream": True, "llm": {"base_url": attacker.url}},
            headers=reader,
        )
        assert streamed.status_code == 403
        assert attacker.received == []
        llamacpp = ask({"backend": "llamacpp"})
        assert llamacpp.status_code == 403 and "allowed: extractive, openai" in llamacpp.json()["error"]["message"]
        assert ask({"backend": "openai", "model": "gpt-4"}).status_code == 403

        other = ask({"backend": "openai", "base_url": allowed_other.url})
        assert other.status_code == 200 and "Allowed elsewhere" in other.json()["answer"]
        assert allowed_other.chat_requests(), "the allowed server was called, without the key (checked on exit)"

        own = ask({"backend": "openai"})
        assert own.status_code == 200 and own.json()["answer"].startswith("The atlas keys rotate")
        sent = configured.chat_requests()[-1]
        assert sent.headers["authorization"] == f"Bearer {SERVER_KEY}"

        backends = client.get("/api/backends").json()
        assert backends["backends"] == ["extractive", "openai"]
        details = {d["name"]: d for d in backends["details"]}
        assert details["openai"]["usable"] and details["openai"]["models"] == ["local"]
        assert not details["llamacpp"]["allowed"] and details["llamacpp"]["reason"]
        assert SERVER_KEY not in str(backends) and configured.url not in str(backends)


# ---- 2. chunk ids are never reused, and the repair checks vectors, not only ids ----------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag_service", *args], env=env, capture_output=True, text=True, check=True
    )


def _index_matches_database(runtime: Runtime, collection_name: str) -> None:
    """Every chunk's vector in the saved FAISS file is the stored vector of that chunk's own text."""
    with runtime.sessions() as session:
        collection = find_collection(session, collection_name)
        rows = session.execute(select(Chunk.id, Chunk.sha256).where(Chunk.collection_id == collection.id)).all()
        cached = load_cached_vectors(
            session, runtime.indexes.get(collection).embedder.model_id, [r.sha256 for r in rows]
        )
    saved = VectorIndex.load(runtime.indexes.path_for(collection.id), 384)
    assert sorted(saved.ids().tolist()) == sorted(r.id for r in rows)
    stored = saved.vectors_for(np.array([r.id for r in rows], dtype=np.int64))
    for row, vector in zip(rows, stored, strict=True):
        assert np.allclose(vector, cached[row.sha256], atol=1e-5), row.id


def test_kill_after_commit_leaves_no_stale_vector(tmp_path: Path, database_url: str, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "RAG_DATABASE_URL": database_url}
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Kitchen\n\nThe espresso machine is on floor two.\n")
    (folder / "z.md").write_text("# Garden\n\nThe tulips are planted in October.\n")  # walked last: highest ids
    _cli(env, "ingest", str(folder), "-c", "team")
    runtime = Runtime(make_settings(tmp_path, database_url))
    with runtime.sessions() as session:
        old_ids = set(session.scalars(select(Chunk.id)))
    faiss_file = runtime.indexes.path_for(1)
    saved = {p: p.read_bytes() for p in (faiss_file, sidecar_path(faiss_file))}
    (folder / "z.md").write_text("# Garden\n\nThe zebra migration passes the garden in spring.\n")
    _cli(env, "ingest", str(folder), "-c", "team")
    # What a SIGKILL right after z.md's commit leaves: the database has the new chunk, the FAISS file (and its
    # sidecar) are those of the last checkpoint.
    for path, data in saved.items():
        path.write_bytes(data)
    with runtime.sessions() as session:
        new_ids = set(session.scalars(select(Chunk.id))) - old_ids
    assert new_ids and min(new_ids) > max(old_ids), "a chunk id was handed out again"
    _cli(env, "ingest", str(folder), "-c", "team", "--sync")
    hits = json.loads(_cli(env, "search", "zebra migration in spring", "-c", "team", "--json").stdout)
    assert hits[0]["path"] == "z.md" and "zebra" in hits[0]["text"]
    assert all("tulips" not in h["text"] for h in hits)
    _index_matches_database(Runtime(make_settings(tmp_path, database_url)), "team")


def _swap_in_wrong_vector(runtime: Runtime, keep_sidecar: bool) -> tuple[int, Path]:
    """An id whose FAISS vector was made from another chunk's text, as a reused id meets an old file."""
    with runtime.sessions() as session:
        rows = session.execute(select(Chunk.id, Chunk.sha256).order_by(Chunk.id)).all()
    victim, other = rows[-1], rows[0]
    path = runtime.indexes.path_for(1)
    index = VectorIndex.load(path, 384)
    wrong = index.vectors_for(np.array([other.id], dtype=np.int64))
    index.remove([victim.id])
    index.add(np.array([victim.id], dtype=np.int64), wrong, text_hashes([other.sha256]))
    index.save(path)
    if not keep_sidecar:
        sidecar_path(path).unlink()
    return victim.id, path


@pytest.mark.parametrize("keep_sidecar", [True, False], ids=["by-text-hash", "by-stored-vector"])
def test_repair_replaces_a_vector_made_from_other_text(
    sqlite_runtime: Runtime, tmp_path: Path, keep_sidecar: bool, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Kitchen\n\nThe espresso machine is on floor two.\n")
    (folder / "b.md").write_text("# Garden\n\nThe zebra migration passes the garden in spring.\n")
    ingest_folder(sqlite_runtime, "team", folder)
    victim, _ = _swap_in_wrong_vector(sqlite_runtime, keep_sidecar)
    fresh = Runtime(sqlite_runtime.settings)
    with caplog.at_level(logging.INFO), fresh.sessions() as session:
        indexes = fresh.indexes.get(find_collection(session, "team"))
    assert "replaced 1 made from other text" in caplog.text
    assert ("vectors checked against the stored ones" in caplog.text) is not keep_sidecar
    fresh.indexes.save(indexes)
    _index_matches_database(fresh, "team")
    hits = retrieve(fresh, "team", "zebra migration", SearchOptions.from_settings(fresh, mode="dense", top_k=1))
    assert hits[0].chunk_id == victim


def test_migration_keeps_rows_and_stops_id_reuse_on_sqlite(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    engine = get_engine(settings.database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text("insert into collections (name, embedder, watch, created_at) values ('t', 'minilm', 0, '2026-01-01')")
        )
        connection.execute(
            text(
                "insert into documents (collection_id, path, size, mtime, type, status, chunk_count, updated_at) "
                "values (1, 'a.md', 1, 0, 'markdown', 'ok', 3, '2026-01-01')"
            )
        )
        for n in (1, 2, 3):
            connection.execute(
                text(
                    "insert into chunks (document_id, collection_id, ordinal, text, heading_path, sha256) "
                    f"values (1, 1, {n}, 'text {n}', '', 'sha{n}')"
                )
            )
    with engine.connect() as connection:
        before = connection.execute(text("select id, text from chunks order by id")).all()
    Runtime(settings)  # upgrades to head
    with engine.begin() as connection:
        assert connection.execute(text("select id, text from chunks order by id")).all() == before
        table_sql = connection.execute(text("select sql from sqlite_master where name = 'chunks'")).scalar_one()
        assert "AUTOINCREMENT" in table_sql
        connection.execute(text("delete from chunks where id = 3"))
        connection.execute(
            text(
                "insert into chunks (document_id, collection_id, ordinal, text, heading_path, sha256) "
                "values (1, 1, 3, 'new text', '', 'sha4')"
            )
        )
        newest = connection.execute(text("select max(id) from chunks")).scalar_one()
    assert newest == 4  # not 3 again


# ---- 3. every ask and chat completion is bounded in size and in time -------------------------------------------


@pytest.fixture
def hanging_llm() -> Iterator[str]:
    """A listener that accepts connections and never answers: an LLM server stuck mid-request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()
    for connection in accepted:
        connection.close()


@pytest.fixture
def stalling_llm() -> Iterator[StubLlm]:
    with stub_llm(stall_seconds=30) as stub:
        yield stub


def test_chat_and_ask_are_bounded_in_size_and_time(tmp_path: Path, hanging_llm: str, stalling_llm: StubLlm) -> None:
    settings = make_settings(
        tmp_path,
        allowed_backends="extractive,openai",
        openai_base_url=hanging_llm,
        allowed_llm_base_urls=f"{hanging_llm},{stalling_llm.url}",
        llm_timeout_seconds=60,
        llm_retries=0,
        ask_timeout_seconds=2.0,
    )
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        wait_ready(client)
        client.post("/api/collections", json={"name": "team"})
        upload = client.post("/api/collections/team/files", files=[("files", ("keys.md", HANDBOOK))])
        assert wait_job(client, upload.json()["job_id"])["status"] == "done"
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["AskRequest"]["properties"]["question"]["maxLength"] == 4000
        assert schema["ChatCompletionRequest"]["properties"]["messages"]["maxItems"] == 51

        def chat(messages: list[dict], **extra: object) -> httpx.Response:
            return client.post("/v1/chat/completions", json={"model": "team", "messages": messages, **extra})

        started = time.monotonic()
        huge = chat([{"role": "user", "content": "rotate keys " * 90_000}])  # about 1 MB
        assert huge.status_code == 422 and "over the limit of 4000" in huge.json()["error"]["message"]
        assert time.monotonic() - started < 5
        parts = [{"type": "text", "text": "x" * 4001}]
        assert chat([{"role": "user", "content": parts}]).status_code == 422
        many = [{"role": "user", "content": "hi"}] * 52
        assert "over the limit of 51" in chat(many).json()["error"]["message"]
        assert chat([{"role": "user", "content": "How often do the atlas keys rotate?"}]).status_code == 200
        long_question = client.post("/api/ask", json={"collection": "team", "question": "q" * 4001})
        assert long_question.status_code == 422
        long_turn = [{"role": "assistant", "content": "a" * 20_001}]
        ask_turn = client.post("/api/ask", json={"collection": "team", "question": "keys?", "history": long_turn})
        assert ask_turn.status_code == 422
        body = b'{"collection": "team", "query": "' + b"x" * (9 * 1024 * 1024) + b'"}'
        too_big = client.post("/api/search", content=body, headers={"content-type": "application/json"})
        assert too_big.status_code == 413 and "RAG_MAX_REQUEST_BODY_MB" in too_big.json()["error"]["message"]

        # A backend that never answers: the request ends at RAG_ASK_TIMEOUT_SECONDS, not at the LLM's 60 s.
        question = {
            "collection": "team",
            "question": "How often do the atlas keys rotate?",
            "llm": {"backend": "openai"},
        }
        started = time.monotonic()
        timed_out = client.post("/api/ask", json=question)
        assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "timeout"
        assert time.monotonic() - started < 10
        streamed = client.post("/api/ask", json={**question, "stream": True})
        assert streamed.status_code == 504  # nothing came before the deadline: a status, not a stream
        # A backend that starts answering, then stalls: the stream ends with an `error` event.
        question["llm"] = {"backend": "openai", "base_url": stalling_llm.url}
        started = time.monotonic()
        events: list[tuple[str, dict]] = []
        with client.stream("POST", "/api/ask", json={**question, "stream": True}) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    events.append((name, json.loads(line[5:])))
        assert events[0][0] == "token" and events[-1][0] == "error"
        assert events[-1][1]["code"] == "timeout" and time.monotonic() - started < 10


# ---- 4. cancel within seconds, one collection does not hold the others, per-file limits ------------------------


def big_markdown(paragraphs: int) -> bytes:
    body = "\n\n".join(
        f"Paragraph {i}: the service in zone {i % 7} restarts its worker {i} after the nightly backup of "
        f"volume {i * 3}, and the on-call engineer checks the dashboard for region {i % 11} errors."
        for i in range(paragraphs)
    )
    return f"# Operations log\n\n{body}\n".encode()


def test_big_file_cancels_within_seconds_and_other_collections_go_on(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        for name in ("big", "small"):
            client.post("/api/collections", json={"name": name})
        data = big_markdown(12_000)  # about 2.6 MB of text: thousands of chunks
        big = client.post("/api/collections/big/files", files=[("files", ("ops.md", data))]).json()["job_id"]
        deadline = time.monotonic() + 120
        while client.get(f"/api/jobs/{big}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        small = client.post("/api/collections/small/files", files=[("files", ("faq.md", HANDBOOK))])
        assert wait_job(client, small.json()["job_id"], timeout=120)["status"] == "done"
        assert client.get(f"/api/jobs/{big}").json()["status"] == "running", "the big job was not overlapped"
        while client.get(f"/api/jobs/{big}").json()["chunks_embedded"] == 0:  # well into embedding the file
            assert time.monotonic() < deadline + 300
            time.sleep(0.2)
        asked = time.monotonic()
        assert client.delete(f"/api/jobs/{big}").status_code == 200
        job = wait_job(client, big, timeout=60)
        took = time.monotonic() - asked
        print(f"cancelled {took:.1f} s after DELETE, {job['chunks_embedded']} chunks embedded by then")
        assert job["status"] == "cancelled" and took < 8
        documents = client.get("/api/collections/big").json()
        assert documents["documents"] == 0 and documents["chunks"] == 0  # nothing half-written


def test_pathological_files_fail_alone(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "long.md").write_bytes(big_markdown(40))
    (folder / "fine.md").write_text("# Fine\n\nThe espresso machine is on floor two.\n")
    for limit, expected in (
        ({"max_file_chars": 2000}, "RAG_MAX_FILE_CHARS"),
        ({"max_file_chunks": 3}, "RAG_MAX_FILE_CHUNKS"),
        ({"max_file_seconds": 0.0}, "RAG_MAX_FILE_SECONDS"),
    ):
        runtime = Runtime(make_settings(tmp_path / expected, **limit))
        summary = ingest_folder(runtime, "team", folder)
        failed = {f["path"]: f["reason"] for f in summary.failed}
        assert expected in failed["long.md"], failed
        if expected != "RAG_MAX_FILE_SECONDS":
            assert summary.added == 1  # the other file is ingested


# ---- 8. job rows tell the truth ----------------------------------------------------------------------------------


def _run_row(runtime: Runtime, run_id: int) -> IngestRun:
    with runtime.sessions() as session:
        run = session.get(IngestRun, run_id)
        assert run is not None
        return run


def test_killed_cli_run_is_interrupted_and_its_progress_kept(tmp_path: Path, cli_env: dict[str, str]) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(300):
        (folder / f"note-{i:03d}.md").write_bytes(big_markdown(8).replace(b"Operations log", f"Note {i}".encode()))
    runtime = Runtime(make_settings(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-m", "rag_service", "ingest", str(folder), "-c", "notes"],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            with runtime.sessions() as session:
                run = session.scalar(select(IngestRun).order_by(IngestRun.id.desc()).limit(1))
            if run is not None and run.status == "running" and run.files_done >= 10:
                break
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        jobs = JobManager(runtime)
        assert jobs.get(run.id).status == "running"  # alive and holding its lock: left alone
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    job = jobs.get(run.id)
    assert job.status == "interrupted" and "process stopped" in (job.error or "")
    with runtime.sessions() as session:
        committed = session.scalar(select(func.count()).select_from(Document)) or 0
    assert job.files_done == committed >= 10  # each file's commit carried its count


def test_queued_job_waits_as_queued_and_cancels(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        client.post("/api/collections", json={"name": "team"})
        holder = Runtime(settings)
        with collection_write_lock(holder, 1):  # another process's ingest of this collection
            first = client.post("/api/collections/team/files", files=[("files", ("a.md", HANDBOOK))]).json()
            time.sleep(1.5)
            assert client.get(f"/api/jobs/{first['job_id']}").json()["status"] == "queued"
            assert _run_row(holder, first["job_id"]).status == "queued"
            started = time.monotonic()
            assert client.delete(f"/api/jobs/{first['job_id']}").status_code == 200
            assert wait_job(client, first["job_id"], timeout=10)["status"] == "cancelled"
            assert time.monotonic() - started < 3
            second = client.post("/api/collections/team/files", files=[("files", ("b.md", HANDBOOK))]).json()
            time.sleep(1.0)
            assert client.get(f"/api/jobs/{second['job_id']}").json()["status"] == "queued"
        assert wait_job(client, second["job_id"])["status"] == "done"
        assert _run_row(holder, first["job_id"]).status == "cancelled"


# ---- 9. no leaks: other collections' ids, server paths, metrics -------------------------------------------------


def test_other_collections_look_absent_and_paths_stay_private(tmp_path: Path) -> None:
    wiki = tmp_path / "wiki"
    wiki.mkdir()
    (wiki / "a.md").write_text("# A\n\nThe bicycle storage is in the basement.\n")
    settings = make_settings(
        tmp_path, api_keys="admin-key,reader-key:team:ro,other-key:other", allowed_roots=str(tmp_path)
    )
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        admin, reader, other = auth("admin-key"), auth("reader-key"), auth("other-key")
        for name in ("team", "other"):
            client.post("/api/collections", json={"name": name}, headers=admin)
        upload = client.post("/api/collections/team/files", files=[("files", ("k.md", HANDBOOK))], headers=admin)
        upload_job = wait_job(client, upload.json()["job_id"], headers=admin)
        sync = client.post("/api/collections/team/sync", json={"path": str(wiki)}, headers=admin).json()
        wait_job(client, sync["job_id"], headers=admin)
        chunk_id = client.post("/api/search", json={"collection": "team", "query": "keys"}, headers=admin).json()[
            "hits"
        ][0]["chunk_id"]

        def same_as_absent(template: str, existing: object, absent: object, method: str = "GET") -> None:
            """Another collection's resource answers exactly as one that does not exist (its id aside)."""
            hidden = client.request(method, template.format(existing), headers=other)
            missing = client.request(method, template.format(absent), headers=other)
            assert hidden.status_code == missing.status_code == 404, template
            assert hidden.json() == json.loads(missing.text.replace(str(absent), str(existing))), template

        job_id = upload_job["id"]
        same_as_absent("/api/jobs/{}", job_id, 999999)
        same_as_absent("/api/jobs/{}", job_id, 999999, "DELETE")
        same_as_absent("/api/jobs/{}/events", job_id, 999999)
        same_as_absent("/api/chunks/{}", chunk_id, 999999)
        same_as_absent("/api/collections/{}", "team", "nothing")
        same_as_absent("/api/collections/{}/documents", "team", "nothing")
        same_as_absent("/api/collections/{}", "team", "nothing", "DELETE")
        same_as_absent("/api/collections/{}/files", "team", "nothing", "POST")

        for key in (admin, reader):
            shown = client.get(f"/api/jobs/{upload_job['id']}", headers=key).json()
            assert shown["source"] == "upload" and str(tmp_path) not in json.dumps(shown)
        assert client.get(f"/api/jobs/{sync['job_id']}", headers=reader).json()["source"] == "sync"
        assert client.get(f"/api/jobs/{sync['job_id']}", headers=admin).json()["source"] == str(wiki)

        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=other).status_code == 403
        assert "rag_http_requests_total" in client.get("/metrics", headers=admin).text


# ---- 5, 6, 7, 10. uploads: long names, encodings, files ingest would skip, multipart names ------------------------


def multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body from (Content-Disposition value, content) pairs, exactly as given."""
    boundary = "----rag-test-boundary"
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + content + b"\r\n"
        for disposition, content in parts
    )
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def test_uploads_store_only_what_ingest_reads_and_name_no_server_paths(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_file_mb=0.05)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        for name in ("used", "fresh"):
            client.post("/api/collections", json={"name": name})

        def upload(collection: str, parts: list) -> httpx.Response:
            return client.post(f"/api/collections/{collection}/files", files=parts)

        # 10: a 405 says which methods the path takes.
        for method, path, allowed in (
            ("GET", "/api/ask", "POST"),
            ("OPTIONS", "/api/collections", "GET, POST"),
            ("PUT", "/api/collections/used", "DELETE, GET"),
            ("POST", "/v1/models", "GET"),
        ):
            refused = client.request(method, path)
            assert refused.status_code == 405 and refused.headers["allow"] == allowed, (method, path)
        first = upload("used", [("files", ("a.md", HANDBOOK))])
        assert wait_job(client, first.json()["job_id"])["status"] == "done"
        # 5: a 300-character name is a clear 400, with or without earlier uploads, naming no server path.
        for collection in ("used", "fresh"):
            refused = upload(collection, [("files", ("n" * 300 + ".md", b"# long"))])
            assert refused.status_code == 400, refused.text
            assert "longer than 255 bytes" in refused.json()["error"]["message"]
            assert str(tmp_path) not in refused.text and "staging" not in refused.text
        deep = "/".join(["folder"] * 200) + "/x.md"
        assert upload("fresh", [("files", (deep, b"# deep"))]).status_code == 400

        # 7: over the per-file limit: refused up front, naming the limit; nothing stored.
        big = upload("fresh", [("files", ("big.md", b"# Big\n" + b"word " * 20_000))])
        assert big.status_code == 413 and "RAG_MAX_FILE_MB" in big.json()["error"]["message"]
        assert not (tmp_path / "data" / "uploads" / "2").exists()
        unsupported = upload("fresh", [("files", ("design.psd", b"8BPS" + bytes(200)))])
        assert unsupported.status_code == 415 and "unsupported file type" in unsupported.json()["error"]["message"]

        # 6 and 10: Latin-1 and UTF-16 (no byte-order mark) text, a name with a colon, an RFC 2231 name.
        recipe = "La crème brûlée de la maison: crème fraîche, sucre, jaunes d’œuf et vanille.\n"
        body, content_type = multipart(
            [
                (b'form-data; name="files"; filename="recette.txt"', recipe.encode("cp1252")),
                (b'form-data; name="files"; filename="menu.txt"', "Menu du jour: crème brûlée\n".encode("utf-16-le")),
                (b'form-data; name="files"; filename="a:b.txt"', b"Colons are fine in Linux file names.\n"),
                (
                    b"form-data; name=\"files\"; filename*=UTF-8''caf%C3%A9%2Fnotes.md",
                    b"# Caf\xc3\xa9\n\nOpen at nine.\n",
                ),
                (b'form-data; name="files"; filename="design.psd"', b"8BPS" + bytes(200)),
                (b'form-data; name="files"; filename=".DS_Store"', bytes(64)),
            ]
        )
        accepted = client.post("/api/collections/fresh/files", content=body, headers={"content-type": content_type})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["files"] == 4
        assert {s["path"]: s["reason"] for s in accepted.json()["skipped"]} == {
            "design.psd": "unsupported file type",
            ".DS_Store": "hidden file or folder",
        }
        job = wait_job(client, accepted.json()["job_id"])
        assert job["status"] == "done" and job["failures"] == []
        documents = client.get("/api/collections/fresh/documents").json()["items"]
        paths = {d["path"] for d in documents}
        assert paths == {"recette.txt", "menu.txt", "a:b.txt", "café/notes.md"}
        # Every stored file has a document row, so every stored file can be deleted.
        root = tmp_path / "data" / "uploads" / "2"
        assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == paths
        hits = client.post(
            "/api/search", json={"collection": "fresh", "query": "crème brûlée", "mode": "lexical", "top_k": 5}
        ).json()["hits"]
        assert {h["path"] for h in hits[:2]} == {"recette.txt", "menu.txt"}
        assert any("crème brûlée" in h["text"] for h in hits)
