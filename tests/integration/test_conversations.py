"""Saved conversations and feedback through real HTTP on SQLite and PostgreSQL, scoped by API key, and the
feedback export checked by shared/eval/check_evidence.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.corpus import MARKDOWN
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

CHECK_EVIDENCE = Path("/work/shared/eval/check_evidence.py")
KEYS = "admin-key,a-key:alpha,ro-key:alpha:ro"


def client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[httpx.Client, httpx.Client, httpx.Client, Path]]:
    """admin, a key scoped to `alpha`, a read-only key of `alpha`; both collections hold one handbook."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "handbook.md").write_text(MARKDOWN, encoding="utf-8")
    settings = make_settings(tmp_path, database_url, api_keys=KEYS)
    with running_server(settings) as base:
        admin, scoped, reader = client(base, "admin-key"), client(base, "a-key"), client(base, "ro-key")
        wait_ready(admin)
        for name in ("alpha", "beta"):
            assert admin.post("/api/collections", json={"name": name}).status_code == 201
            job = admin.post(f"/api/collections/{name}/files", files=folder_files(docs)).json()
            assert wait_job(admin, job["job_id"], headers=admin.headers)["status"] == "done"
        yield admin, scoped, reader, docs
        for c in (admin, scoped, reader):
            c.close()


def stream_done(api: httpx.Client, body: dict) -> dict:
    done = None
    with api.stream("POST", "/api/ask", json=body | {"stream": True}) as response:
        assert response.status_code == 200
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "done":
                done = json.loads(line[5:])
    assert done is not None
    return done


def test_conversations_keep_turns_and_history_within_key_scopes(
    served: tuple[httpx.Client, httpx.Client, httpx.Client, Path],
) -> None:
    admin, scoped, reader, _ = served
    features = admin.get("/api/features").json()
    assert features["server_sync"] is False and features["max_question_chars"] == 4000  # no RAG_ALLOWED_ROOTS
    assert "cjk" in features["embedder_scripts"]["multilingual"] and features["embedder_scripts"]["minilm"] == ["latin"]
    created = scoped.post("/api/conversations", json={"collection": "alpha"})
    assert created.status_code == 201 and created.json()["turns"] == 0 and created.json()["title"] == ""
    conversation = created.json()["id"]
    assert scoped.post("/api/conversations", json={"collection": "beta"}).status_code == 404

    first = scoped.post(
        "/api/ask",
        json={"question": "How do I install Atlas on Linux?", "collection": "alpha", "conversation_id": conversation},
    ).json()
    assert first["conversation_id"] == conversation and first["turn_id"] and first["answered"]
    # No history sent: the conversation's own turns make "And on Windows?" a question about installing Atlas.
    follow = stream_done(
        scoped, {"question": "And on Windows?", "collection": "alpha", "conversation_id": conversation}
    )
    assert follow["turn_id"] and "AtlasSetup.msi" in " ".join(h["text"] for h in follow["hits"])
    assert "install" in follow["standalone_question"].lower()

    saved = scoped.get(f"/api/conversations/{conversation}").json()
    assert saved["title"] == "How do I install Atlas on Linux?" and saved["turns"] == 2
    assert [t["question"] for t in saved["items"]] == ["How do I install Atlas on Linux?", "And on Windows?"]
    turn = saved["items"][0]
    assert turn["answer"] == first["answer"] and turn["citations"] == first["citations"]
    assert turn["passages"][0]["path"] == "handbook.md" and turn["passages"][0]["text"]
    assert turn["feedback"] is None

    renamed = scoped.patch(f"/api/conversations/{conversation}", json={"title": "  Installing  Atlas "})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Installing Atlas"
    assert scoped.patch(f"/api/conversations/{conversation}", json={"title": "  "}).status_code == 422

    other = admin.post("/api/conversations", json={"collection": "beta", "title": "Beta chat"}).json()["id"]
    # A key scoped to alpha never sees beta's conversation: absent in lists, 404 for every verb.
    assert [c["id"] for c in scoped.get("/api/conversations").json()["conversations"]] == [conversation]
    assert {c["id"] for c in admin.get("/api/conversations").json()["conversations"]} == {conversation, other}
    for response in (
        scoped.get(f"/api/conversations/{other}"),
        scoped.patch(f"/api/conversations/{other}", json={"title": "mine"}),
        scoped.delete(f"/api/conversations/{other}"),
        scoped.get("/api/collections/beta/conversations"),
        scoped.get("/api/conversations", params={"collection": "beta"}),
        scoped.post("/api/ask", json={"question": "keys?", "collection": "alpha", "conversation_id": other}),
    ):
        assert response.status_code == 404, response.text
        assert "Beta chat" not in response.text
    assert admin.get("/api/collections/beta/conversations").json()["conversations"][0]["title"] == "Beta chat"
    mixed = admin.post("/api/ask", json={"question": "keys?", "collection": "alpha", "conversation_id": other})
    assert mixed.status_code == 404
    assert mixed.json()["error"]["message"] == f"no conversation {other} in collection 'alpha'"
    assert admin.get("/api/conversations/999999").status_code == 404

    # A read-only key may keep conversations of the collections it sees.
    kept = reader.post("/api/conversations", json={"collection": "alpha"})
    assert kept.status_code == 201
    assert reader.delete(f"/api/conversations/{kept.json()['id']}").status_code == 204

    # The upload panel after a reload: the collection's newest job, within the key's scope too.
    (latest,) = scoped.get("/api/jobs", params={"collection": "alpha"}).json()
    assert (latest["collection"], latest["status"], latest["summary"]["added"]) == ("alpha", "done", 1)
    assert scoped.get("/api/jobs", params={"collection": "beta"}).status_code == 404
    assert admin.post("/api/collections", json={"name": "gamma"}).status_code == 201
    assert admin.get("/api/jobs", params={"collection": "gamma"}).json() == []

    assert scoped.delete(f"/api/conversations/{conversation}").status_code == 204
    assert scoped.get(f"/api/conversations/{conversation}").status_code == 404
    assert admin.get("/api/collections/alpha/conversations").json()["conversations"] == []


def test_feedback_is_scoped_kept_and_exported_as_eval_questions(
    served: tuple[httpx.Client, httpx.Client, httpx.Client, Path], database_url: str, tmp_path: Path
) -> None:
    admin, scoped, reader, docs = served

    def asked(api: httpx.Client, collection: str, question: str) -> dict:
        conversation = api.post("/api/conversations", json={"collection": collection}).json()["id"]
        return api.post(
            "/api/ask", json={"question": question, "collection": collection, "conversation_id": conversation}
        ).json()

    good = asked(scoped, "alpha", "How do we rotate the API keys?")
    bad = asked(scoped, "alpha", "How do I install Atlas on Linux?")
    declined = asked(scoped, "alpha", "What is the price of the enterprise licence in euros?")
    beta = asked(admin, "beta", "How do we rotate the API keys?")
    assert good["answered"] and good["citations"] and not declined["answered"]

    first = scoped.post("/api/feedback", json={"turn_id": good["turn_id"], "rating": "down"})
    assert first.status_code == 201
    again = scoped.post("/api/feedback", json={"turn_id": good["turn_id"], "rating": "up", "comment": "exact"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]  # one feedback per answer
    assert again.json()["question"] == "How do we rotate the API keys?" and again.json()["passages"]
    down = {"turn_id": bad["turn_id"], "rating": "down", "comment": "wrong"}
    assert reader.post("/api/feedback", json=down).is_success
    assert scoped.post("/api/feedback", json={"turn_id": declined["turn_id"], "rating": "up"}).is_success
    assert scoped.post("/api/feedback", json={"turn_id": beta["turn_id"], "rating": "up"}).status_code == 404
    assert admin.post("/api/feedback", json={"turn_id": beta["turn_id"], "rating": "up"}).status_code == 201
    invalid = scoped.post("/api/feedback", json={"turn_id": good["turn_id"], "rating": "meh"})
    assert invalid.status_code == 422

    mine = scoped.get("/api/feedback").json()["items"]
    assert [(f["collection"], f["rating"]) for f in mine] == [("alpha", "up"), ("alpha", "down"), ("alpha", "up")]
    assert mine[0]["comment"] == "exact" and mine[0]["answer"] == good["answer"]
    assert scoped.get("/api/feedback", params={"collection": "beta"}).status_code == 404
    assert len(admin.get("/api/feedback").json()["items"]) == 4
    assert [f["collection"] for f in admin.get("/api/feedback", params={"collection": "beta"}).json()["items"]] == [
        "beta"
    ]
    assert len(scoped.get("/api/feedback", params={"rating": "down"}).json()["items"]) == 1
    shown = scoped.get(f"/api/conversations/{good['conversation_id']}").json()["items"][0]["feedback"]
    assert shown == {"rating": "up", "comment": "exact"}

    # Feedback outlives its conversation.
    assert scoped.delete(f"/api/conversations/{good['conversation_id']}").status_code == 204
    kept = scoped.get("/api/feedback").json()["items"][0]
    assert kept["turn_id"] is None and kept["comment"] == "exact"

    env = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "data"), RAG_DATABASE_URL=database_url)
    exported = subprocess.run(
        [sys.executable, "-m", "rag_service", "feedback", "export", "-c", "alpha"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    questions = [json.loads(line) for line in exported.stdout.splitlines()]
    by_question = {q["question"]: q for q in questions}
    regression = by_question["How do we rotate the API keys?"]
    assert regression["answerable"] is True and regression["relevant"] == ["handbook.md"]
    assert regression["evidence"] and regression["type"] == "regression"
    assert by_question["How do I install Atlas on Linux?"]["needs_review"] is True
    assert by_question["How do I install Atlas on Linux?"]["feedback"]["comment"] == "wrong"
    assert by_question["What is the price of the enterprise licence in euros?"]["answerable"] is False
    path = tmp_path / "questions.jsonl"
    path.write_text(exported.stdout, encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, str(CHECK_EVIDENCE), str(path), str(docs), "--strict"], capture_output=True, text=True
    )
    assert checked.returncode == 0 and "RESULT: PASS" in checked.stdout, checked.stdout
