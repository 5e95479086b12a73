"""The REST API through real HTTP: uvicorn on a free loopback port, httpx, SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag_service.stores.vector_index import VectorIndex
from tests.conftest import make_settings
from tests.corpus import FAILED, INDEXED
from tests.integration.server import folder_files, running_server, wait_job, wait_ready, zip_bytes


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path, database_url, allowed_roots=str(tmp_path))
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        yield client


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path,
        allowed_roots=str(tmp_path),
        watch_interval_seconds=0.5,
        embed_group_chunks=32,
        allowed_backends="extractive,openai",
        openai_base_url="http://127.0.0.1:9/v1",  # allowed, and down
    )
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        yield client


def many_notes(count: int) -> list[tuple[str, tuple[str, bytes]]]:
    parts = []
    for i in range(count):
        body = "\n\n".join(f"Note {i} paragraph {j}: service {i * 50 + j} runs in zone {j % 5}." for j in range(15))
        parts.append(("files", (f"bulk/part-{i // 50}/note-{i:04d}.md", f"# Note {i}\n\n{body}\n".encode())))
    return parts


def test_collections_lifecycle_and_errors(api: httpx.Client) -> None:
    created = api.post("/api/collections", json={"name": "team"})
    assert created.status_code == 201 and created.json()["embedder"] == "minilm"
    assert api.post("/api/collections", json={"name": "team"}).status_code == 409
    bad = api.post("/api/collections", json={"name": "../x"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    invalid = api.post("/api/collections", json={"name": "x", "embedder": "nope"})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"
    listed = api.get("/api/collections").json()["collections"]
    assert [c["name"] for c in listed] == ["team"] and listed[0]["documents"] == 0
    missing = api.get("/api/collections/absent")
    assert missing.status_code == 404 and missing.json() == {
        "error": {"code": "not_found", "message": "no collection named 'absent'", "type": "not_found"}
    }
    assert api.post("/api/search", json={"query": "x", "collection": "absent"}).status_code == 404
    assert api.delete("/api/collections/team").status_code == 204
    assert api.get("/api/collections/team").status_code == 404
    assert api.get("/api/jobs/999999").status_code == 404


def test_folder_upload_ingests_in_background(api: httpx.Client, corpus: Path) -> None:
    api.post("/api/collections", json={"name": "team"})
    accepted = api.post("/api/collections/team/files", files=folder_files(corpus))
    assert accepted.status_code == 202
    job = wait_job(api, accepted.json()["job_id"])
    assert job["status"] == "done"
    assert job["files_done"] == job["files_total"] > 0
    assert {f["path"] for f in job["failures"]} == FAILED
    assert job["failures"][0]["reason"].startswith("unreadable PDF")
    documents = api.get("/api/collections/team/documents", params={"limit": 100}).json()
    paths = {d["path"] for d in documents["items"]}
    assert paths >= INDEXED and "guides/deep/glossary.txt" in paths
    assert documents["total"] == len(paths)
    failed = api.get("/api/collections/team/documents", params={"status": "failed"}).json()["items"]
    assert [d["path"] for d in failed] == ["broken.pdf"] and failed[0]["error"]
    hits = api.post("/api/search", json={"query": "customer logs retention", "collection": "team", "top_k": 3}).json()
    top = hits["hits"][0]
    assert top["path"] == "policy.pdf" and top["page"] == 3
    context = api.get(f"/api/chunks/{top['chunk_id']}", params={"neighbours": 1}).json()
    assert context["chunk"]["id"] == top["chunk_id"] and context["before"][0]["page"] == 2
    info = api.get("/api/collections/team").json()
    assert info["documents"] == len(INDEXED) and info["chunks"] > 0


def test_zip_upload_and_delete_document(sqlite_api: httpx.Client) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "z"})
    archive = zip_bytes(
        {"guide/start.md": b"# Start\nThe kickoff meeting is on Mondays.\n", "faq.txt": b"Lunch is at noon.\n"}
    )
    accepted = api.post("/api/collections/z/files", files=[("files", ("docs.zip", archive))])
    assert accepted.status_code == 202 and accepted.json()["files"] == 2
    assert wait_job(api, accepted.json()["job_id"])["status"] == "done"
    documents = api.get("/api/collections/z/documents").json()["items"]
    assert {d["path"] for d in documents} == {"docs/guide/start.md", "docs/faq.txt"}
    target = next(d for d in documents if d["path"] == "docs/faq.txt")
    assert api.delete(f"/api/collections/z/documents/{target['id']}").status_code == 204
    assert api.delete(f"/api/collections/z/documents/{target['id']}").status_code == 404
    hits = api.post("/api/search", json={"query": "lunch time", "collection": "z"}).json()["hits"]
    assert all(h["path"] != "docs/faq.txt" for h in hits)
    # A later upload does not bring the deleted document back.
    again = api.post("/api/collections/z/files", files=[("files", ("more.md", b"# More\nExtra.\n"))])
    wait_job(api, again.json()["job_id"])
    assert "docs/faq.txt" not in {d["path"] for d in api.get("/api/collections/z/documents").json()["items"]}


def test_job_events_stream_progress_then_done(sqlite_api: httpx.Client) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "bulk"})
    job_id = api.post("/api/collections/bulk/files", files=many_notes(40)).json()["job_id"]
    events: list[tuple[str, dict]] = []
    with api.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line[5:])))
                if name == "done":
                    break
    assert events[-1][0] == "done" and events[-1][1]["status"] == "done"
    assert events[-1][1]["files_done"] == 40
    assert any(kind == "progress" for kind, _ in events)


def test_search_and_ask_keep_answering_during_ingest(sqlite_api: httpx.Client, corpus: Path) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "team"})
    wait_job(api, api.post("/api/collections/team/files", files=folder_files(corpus)).json()["job_id"])
    job_id = api.post("/api/collections/team/files", files=many_notes(300)).json()["job_id"]
    statuses, saw_running = [], False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            break
        saw_running = saw_running or job["status"] == "running"
        search = api.post("/api/search", json={"query": "rotate the API keys", "collection": "team", "top_k": 3})
        ask = api.post("/api/ask", json={"question": "How do we rotate the API keys?", "collection": "team"})
        statuses += [search.status_code, ask.status_code]
        assert search.json()["hits"][0]["path"] == "handbook.md"
    assert saw_running and statuses and set(statuses) == {200}
    assert wait_job(api, job_id)["status"] == "done"


def test_second_ingest_queues_and_cancel_leaves_state_consistent(sqlite_api: httpx.Client, tmp_path: Path) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "bulk"})
    first = api.post("/api/collections/bulk/files", files=many_notes(200)).json()["job_id"]
    second = api.post("/api/collections/bulk/files", files=many_notes(210)[200:]).json()["job_id"]
    assert api.get(f"/api/jobs/{second}").json()["status"] == "queued"
    while api.get(f"/api/jobs/{first}").json()["files_done"] < 5:
        time.sleep(0.1)
    cancelled = api.delete(f"/api/jobs/{first}")
    assert cancelled.status_code == 200
    assert wait_job(api, first)["status"] == "cancelled"
    assert wait_job(api, second)["status"] == "done"
    total = api.get("/api/collections/bulk").json()
    assert 5 < total["documents"] <= 210
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "rag.db") as conn:
        ids = {row[0] for row in conn.execute("select id from chunks")}
        incomplete = conn.execute(
            "select count(*) from documents d "
            "where d.chunk_count != (select count(*) from chunks c where c.document_id = d.id)"
        ).fetchone()[0]
    assert incomplete == 0
    saved = VectorIndex.load(tmp_path / "data" / "faiss" / "collection-1.faiss", 384)
    assert set(saved.ids().tolist()) == ids


def test_ask_json_and_stream(sqlite_api: httpx.Client, corpus: Path) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "team"})
    wait_job(api, api.post("/api/collections/team/files", files=folder_files(corpus)).json()["job_id"])
    answer = api.post(
        "/api/ask", json={"question": "How do we rotate the API keys?", "collection": "team", "top_k": 3}
    ).json()
    assert answer["answered"] and "atlas keys rotate" in answer["answer"]
    assert answer["citations"][0]["path"] == "handbook.md" and answer["hits"]
    follow = api.post(
        "/api/ask",
        json={
            "question": "And on Windows?",
            "collection": "team",
            "history": [
                {"role": "user", "content": "How do I install Atlas on Linux?"},
                {"role": "assistant", "content": "Run install.sh [1]."},
            ],
        },
    ).json()
    assert "AtlasSetup.msi" in " ".join(h["text"] for h in follow["hits"])

    kinds = []
    with api.stream(
        "POST", "/api/ask", json={"question": "How do we rotate the API keys?", "collection": "team", "stream": True}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                kinds.append(line.split(":", 1)[1].strip())
    assert kinds[0] == "token" and kinds[-2:] == ["citations", "done"]

    down = {"backend": "openai"}
    failed = api.post("/api/ask", json={"question": "rotate keys", "collection": "team", "llm": down})
    assert failed.status_code == 503
    body = failed.json()
    assert (
        body["error"]["code"] == "backend_unavailable" and "openai at http://127.0.0.1:9/v1" in body["error"]["message"]
    )
    assert body["hits"]
    kinds = []
    with api.stream(
        "POST", "/api/ask", json={"question": "rotate keys", "collection": "team", "llm": down, "stream": True}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                kinds.append(line.split(":", 1)[1].strip())
    assert kinds == ["error", "done"]
    missing = api.post("/api/ask", json={"question": "x", "collection": "absent", "stream": True})
    assert missing.status_code == 404


def test_server_side_sync_and_watch(sqlite_api: httpx.Client, tmp_path: Path) -> None:
    api = sqlite_api
    api.post("/api/collections", json={"name": "wiki"})
    outside = api.post("/api/collections/wiki/sync", json={"path": "/etc"})
    assert outside.status_code == 403 and "not under an allowed root" in outside.json()["error"]["message"]
    folder = tmp_path / "wiki"
    folder.mkdir()
    (folder / "a.md").write_text("# A\nThe espresso machine is on floor two.\n")
    job = api.post("/api/collections/wiki/sync", json={"path": str(folder), "watch": True})
    assert job.status_code == 202 and wait_job(api, job.json()["job_id"])["status"] == "done"
    (folder / "b.md").write_text("# B\nThe bicycle storage is in the basement.\n")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = api.post(
            "/api/search", json={"query": "where is bicycle storage", "collection": "wiki", "top_k": 1}
        ).json()["hits"]
        if hits and hits[0]["path"] == "b.md":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the watched folder's new file was not picked up")
    (folder / "a.md").unlink()
    deadline = time.monotonic() + 30
    while api.get("/api/collections/wiki").json()["documents"] != 1:
        assert time.monotonic() < deadline, "the deleted file was not synced away"
        time.sleep(0.5)


def test_api_keys(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, api_keys="admin-key,reader-key:team:ro,other-key:other")
    with running_server(settings) as base:
        anonymous = httpx.Client(base_url=base, timeout=60)
        admin = httpx.Client(base_url=base, timeout=60, headers={"Authorization": "Bearer admin-key"})
        reader = httpx.Client(base_url=base, timeout=60, headers={"Authorization": "Bearer reader-key"})
        other = httpx.Client(base_url=base, timeout=60, headers={"Authorization": "Bearer other-key"})
        assert anonymous.get("/healthz").status_code == 200
        unauthorised = anonymous.get("/api/collections")
        assert unauthorised.status_code == 401 and unauthorised.json()["error"]["code"] == "unauthorized"
        wrong = httpx.get(f"{base}/api/collections", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "collections" not in wrong.text
        assert anonymous.get("/v1/models").status_code == 401
        assert admin.post("/api/collections", json={"name": "team"}).status_code == 201
        assert admin.post("/api/collections", json={"name": "other"}).status_code == 201
        wait_job(admin, admin.post("/api/collections/team/files", files=folder_files(corpus)).json()["job_id"])
        assert [c["name"] for c in reader.get("/api/collections").json()["collections"]] == ["team"]
        assert reader.post("/api/search", json={"query": "keys", "collection": "team"}).status_code == 200
        assert reader.post("/api/collections", json={"name": "new"}).status_code == 403
        assert reader.post("/api/collections/team/files", files=[("files", ("x.md", b"# x"))]).status_code == 403
        assert reader.delete("/api/collections/team").status_code == 403
        hidden = other.post("/api/search", json={"query": "keys", "collection": "team"})
        absent = other.post("/api/search", json={"query": "keys", "collection": "absent"})
        assert hidden.status_code == absent.status_code == 404 and "hits" not in hidden.text
        assert [m["id"] for m in other.get("/v1/models").json()["data"]] == ["other"]
        for client in (anonymous, admin, reader, other):
            client.close()


def test_upload_limits_and_path_attacks(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, max_upload_mb=0.05, max_upload_files=3, max_archive_expanded_mb=0.2, max_archive_ratio=50
    )
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as api:
        api.post("/api/collections", json={"name": "c"})

        def upload(parts: list) -> httpx.Response:
            return api.post("/api/collections/c/files", files=parts)

        too_big = upload([("files", ("big.txt", b"x" * 80_000))])
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
        too_many = upload([("files", (f"f{i}.md", b"# f")) for i in range(4)])
        assert too_many.status_code == 413 and "over the limit of 3" in too_many.json()["error"]["message"]
        bomb = zip_bytes({"zeros.txt": b"\0" * 150_000})
        ratio = upload([("files", ("bomb.zip", bomb))])
        assert ratio.status_code == 413 and "ratio" in ratio.json()["error"]["message"]
        expanded = zip_bytes({f"r{i}.txt": bytes(range(256)) * 200 for i in range(5)})
        assert upload([("files", ("wide.zip", expanded))]).status_code == 413
        # (A "C:\\evil.md" name arrives as "evil.md": the multipart parser keeps only its last component.)
        for name in ("../evil.md", "docs/../../evil.md", "/etc/evil.md", "C:/evil.md", "..\\evil.md"):
            attacked = upload([("files", (name, b"# evil"))])
            assert attacked.status_code == 400, name
            assert attacked.json()["error"]["code"] == "invalid_input"
        traversal_zip = zip_bytes({"../../outside.md": b"# out"})
        assert upload([("files", ("t.zip", traversal_zip))]).status_code == 400
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            link = zipfile.ZipInfo("link.md")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(link, "/etc/passwd")
        symlinked = upload([("files", ("s.zip", buffer.getvalue()))])
        assert symlinked.status_code == 400 and "symlink" in symlinked.json()["error"]["message"]
        assert upload([("files", ("bad.zip", b"not a zip"))]).status_code == 400
        assert (
            api.post(
                "/api/collections/c/files", content=b"{}", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        # Nothing was written anywhere for the refused uploads.
        assert not list((tmp_path / "data" / "uploads").rglob("*.md"))
        assert not (tmp_path / "evil.md").exists() and not (tmp_path / "outside.md").exists()
        assert api.get("/api/collections/c").json()["documents"] == 0


def test_openai_client_chat_completions(sqlite_api: httpx.Client, corpus: Path) -> None:
    from openai import OpenAI

    api = sqlite_api
    api.post("/api/collections", json={"name": "team"})
    wait_job(api, api.post("/api/collections/team/files", files=folder_files(corpus)).json()["job_id"])
    client = OpenAI(base_url=f"{api.base_url}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["team"]
    completion = client.chat.completions.create(
        model="team", messages=[{"role": "user", "content": "How do we rotate the API keys?"}]
    )
    assert "atlas keys rotate" in completion.choices[0].message.content
    extra = completion.model_extra or {}
    assert extra["citations"][0]["path"] == "handbook.md"
    stream = client.chat.completions.create(
        model="team", stream=True, messages=[{"role": "user", "content": "How do we rotate the API keys?"}]
    )
    pieces, finish, citations = [], None, None
    for chunk in stream:
        pieces.append(chunk.choices[0].delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
        citations = (chunk.model_extra or {}).get("citations") or citations
    assert "atlas keys rotate" in "".join(pieces) and finish == "stop"
    assert citations and citations[0]["path"] == "handbook.md"
    from openai import NotFoundError

    with pytest.raises(NotFoundError):
        client.chat.completions.create(model="absent", messages=[{"role": "user", "content": "hi"}])


def test_metrics_and_readiness(sqlite_api: httpx.Client) -> None:
    sqlite_api.get("/api/collections")
    text = sqlite_api.get("/metrics").text
    assert 'rag_http_requests_total{method="GET",route="/api/collections",status="200"}' in text
    assert "rag_http_request_seconds_bucket" in text and "rag_ingest_chunks_embedded_total" in text
    ready = sqlite_api.get("/readyz").json()
    assert ready == {"status": "ready", "replication": {"changes_behind": 0, "seconds_behind": 0.0}}


def test_schemathesis_every_check_passes(sqlite_api: httpx.Client, tmp_path: Path) -> None:
    import subprocess
    import sys

    sqlite_api.post("/api/collections", json={"name": "team"})
    # Aim the generated requests at a collection that exists, so they reach the handlers' own logic. An upload's
    # filenames come from the schema's Content-Disposition example (a path with an extension), but whether its
    # contents are ingested a multipart schema cannot describe: there, refusing files ingest would skip (413,
    # 415: binary content) counts as accepting well-formed data. The stateful phase uploads, then reads and
    # cancels the jobs: DELETE /api/jobs/{id} is documented as a cancel that leaves the job readable, which
    # use_after_free (a DELETE removes) cannot know. Every check is on ([checks]), and named here rather than
    # with --checks all, which would override the per-operation settings.
    (tmp_path / "schemathesis.toml").write_text(
        '[checks]\nenabled = true\n\n[parameters]\n"path.name" = "team"\n\n'
        "[[operations]]\n"
        'include-name = "POST /api/collections/{name}/files"\n'
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415"]\n\n'
        "[[operations]]\n"
        'include-name = "GET /api/jobs/{job_id}"\n'
        "checks.use_after_free.enabled = false\n"
    )
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{sqlite_api.base_url}/openapi.json",
            "--max-examples",
            "25",
            "--request-timeout",
            "60",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--exclude-path",
            "/api/jobs/{job_id}/events",
            "--suppress-health-check",
            "all",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_upload_refusal_and_job_cancel_are_what_the_schema_says(sqlite_api: httpx.Client) -> None:
    """Issue 25: the 415 for extension-less parts is declared with the error body, and a cancelled job stays
    readable, as the DELETE route's documentation says."""
    api = sqlite_api
    api.post("/api/collections", json={"name": "team"})
    paths = api.get("/openapi.json").json()["paths"]
    upload = paths["/api/collections/{name}/files"]["post"]
    for status in ("413", "415"):
        schema = upload["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, status
    disposition = upload["requestBody"]["content"]["multipart/form-data"]["encoding"]["files"]["headers"]
    assert 'filename="docs/setup/linux.md"' in disposition["Content-Disposition"]["example"]
    ready = paths["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready == {"$ref": "#/components/schemas/ErrorBody"}

    refused = api.post("/api/collections/team/files", files=[("files", ("README", b"no extension, no loader\n"))])
    assert refused.status_code == 415
    error = refused.json()["error"]
    assert set(refused.json()) == {"error"} and error["code"] == error["type"] == "unsupported_media_type"
    assert "'README': unsupported file type" in error["message"]

    accepted = api.post("/api/collections/team/files", files=[("files", ("notes.md", b"# Notes\n\nSome text.\n"))])
    job_id = accepted.json()["job_id"]
    cancelled = api.delete(f"/api/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["id"] == job_id
    assert "stays readable" in paths["/api/jobs/{job_id}"]["delete"]["responses"]["200"]["description"]
    final = wait_job(api, job_id)
    assert final["id"] == job_id and final["status"] in ("cancelled", "done")
    assert api.get(f"/api/jobs/{job_id}").status_code == 200


def test_unknown_llm_options_and_an_over_long_query_are_refused_by_name(sqlite_api: httpx.Client) -> None:
    """Issue 25: an `llm` option the schema does not have is a 422 naming it, not silently dropped; a base URL
    with a query is refused with why; an over-long or blank search query is a 422 that starts with `query:`."""
    api = sqlite_api
    api.post("/api/collections", json={"name": "team"})

    def ask(llm: dict) -> httpx.Response:
        return api.post("/api/ask", json={"question": "How do keys rotate?", "collection": "team", "llm": llm})

    for field, value in (("api_key", "sk-caller-chosen"), ("extra_body", {"seed": 1})):
        refused = ask({"backend": "openai", field: value})
        assert refused.status_code == 422, field
        error = refused.json()["error"]
        assert error["code"] == "validation_error" and error["message"].startswith(f"llm.{field}:"), error
    assert api.get("/openapi.json").json()["components"]["schemas"]["LlmOptions"]["additionalProperties"] is False

    sneaky = ask({"backend": "openai", "base_url": "http://127.0.0.1:9/v1?x=http://10.0.0.9/"})
    assert sneaky.status_code == 403 and sneaky.json()["error"]["code"] == "not_allowed"
    assert "query string or fragment" in sneaky.json()["error"]["message"]

    limit = api.get("/api/features").json()["max_question_chars"]
    long = api.post("/api/search", json={"query": "word " * (limit // 5 + 1), "collection": "team"})
    assert long.status_code == 422
    assert long.json()["error"]["message"].startswith("query:"), long.json()
    # Only whitespace, by JSON Schema's reckoning or Python's: refused by the schema's pattern, not later as empty.
    for blank in ("\v", "\x1c", "\ufeff \u3000"):
        refused = api.post("/api/search", json={"query": blank, "collection": "team"})
        assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("query:"), blank


def test_concurrent_uploads_threads(sqlite_api: httpx.Client) -> None:
    """Several clients uploading to one collection at once: every job finishes, nothing is duplicated."""
    api = sqlite_api
    api.post("/api/collections", json={"name": "busy"})
    job_ids: list[int] = []

    def send(i: int) -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=120) as client:
            job_ids.append(
                client.post("/api/collections/busy/files", files=many_notes(30)[i * 10 : i * 10 + 10]).json()["job_id"]
            )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(wait_job(api, job_id)["status"] == "done" for job_id in job_ids)
    assert api.get("/api/collections/busy").json()["documents"] == 30
