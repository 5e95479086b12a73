"""The audit trail (issue 28, part 4) through the real front doors: HTTP against a real server, the OpenAI door,
MCP's tools, the CLI in a subprocess; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rag_service import audit
from rag_service.api.auth import Principal
from rag_service.db.models import AuditEvent, utcnow
from rag_service.indexing import ingest_folder
from rag_service.mcp import tools
from rag_service.runtime import Runtime
from tests.conftest import make_settings
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

CLI = [sys.executable, "-m", "rag_service"]
ALICE_KEY, BOB_KEY, UNNAMED_KEY = "sk-alice-7f3e91c2", "sk-bob-0d5a66b1", "sk-unnamed-93be04aa"
KEYS = f"alice={ALICE_KEY}::admin,bob={BOB_KEY}:team:ro,{UNNAMED_KEY}:team"
QUESTION = "How often do the atlas keys rotate?"
ANSWER_WORDS = "ninety days"


def small_folder(root: Path) -> Path:
    (root / "ops").mkdir(parents=True)
    (root / "ops" / "keys.md").write_text(
        "# Keys\n\nThe atlas keys rotate every ninety days; the security team runs the rotation.\n"
    )
    (root / "ops" / "backups.md").write_text(
        "# Backups\n\nThe nightly backup of the wiki database starts at two in the morning and is kept a month.\n"
    )
    return root


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"rag-service {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    return result


def test_named_keys_are_recorded_by_name_and_only_an_admin_reads_the_trail(
    tmp_path: Path, database_url: str, cli_env: dict[str, str]
) -> None:
    settings = make_settings(tmp_path, database_url, api_keys=KEYS)
    folder = small_folder(tmp_path / "docs")
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        alice, bob, unnamed = auth(ALICE_KEY), auth(BOB_KEY), auth(UNNAMED_KEY)
        assert client.post("/api/collections", json={"name": "team"}, headers=alice).status_code == 201
        upload = client.post("/api/collections/team/files", files=folder_files(folder), headers=alice).json()
        assert wait_job(client, upload["job_id"], headers=alice)["status"] == "done"
        asked = client.post("/api/ask", json={"collection": "team", "question": QUESTION}, headers=alice).json()
        assert ANSWER_WORDS in asked["answer"]
        # bob asks through the OpenAI-compatible door, the unnamed key searches
        chat = {"model": "team", "messages": [{"role": "user", "content": "When does the nightly backup start?"}]}
        assert client.post("/v1/chat/completions", json=chat, headers=bob).status_code == 200
        assert client.post("/api/search", json={"query": "backup", "collection": "team"}, headers=unnamed).is_success
        documents = client.get("/api/collections/team/documents", headers=alice).json()["items"]
        deleted = next(d for d in documents if d["path"].endswith("backups.md"))
        assert client.delete(f"/api/collections/team/documents/{deleted['id']}", headers=alice).status_code == 204

        refused = client.get("/api/audit", headers=bob)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert client.get("/api/audit", headers=unnamed).status_code == 403
        assert client.get("/api/audit").status_code == 401
        bobs = client.get("/api/audit", params={"actor": "bob", "action": "ask"}, headers=alice).json()
        assert bobs["total"] == 1 and bobs["items"][0]["details"]["question"] == "When does the nightly backup start?"
        assert bobs["items"][0]["collection"] == "team"
        uploads = client.get("/api/audit", params={"action": "upload"}, headers=alice).json()["items"]
        assert [(e["actor"], e["target"], e["details"]["files"]) for e in uploads] == [
            ("alice", str(upload["job_id"]), 2)
        ]
        newest_first = client.get("/api/audit", params={"actor": "alice", "limit": 2}, headers=alice).json()
        assert [e["action"] for e in newest_first["items"]] == ["audit.read", "audit.read"]
        assert newest_first["total"] > 2
        later = (utcnow() + timedelta(hours=1)).isoformat()
        assert client.get("/api/audit", params={"since": later}, headers=alice).json()["total"] == 0

    env = {**cli_env, "RAG_DATABASE_URL": database_url}
    run_cli("search", "atlas keys", "-c", "team", env=env)
    exported = run_cli("audit", "export", "--since", "2000-01-01", env=env)
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(events) == len(exported.stdout.splitlines()) > 0
    by_action: dict[str, list[dict]] = {}
    for event in events:
        by_action.setdefault(event["action"], []).append(event)
    ask_by_alice = next(e for e in by_action["ask"] if e["actor"] == "alice")
    assert ask_by_alice["details"]["question"] == QUESTION and ANSWER_WORDS in ask_by_alice["details"]["answer"]
    assert ask_by_alice["details"]["status"] == "answered"
    shown = ask_by_alice["details"]["passages"]
    assert shown and shown[0]["path"].endswith("keys.md") and shown[0]["chunk_id"] > 0 and shown[0]["location"]
    assert [e["actor"] for e in by_action["ask"]] == ["alice", "bob"]
    assert [(e["actor"], e["details"]["files"]) for e in by_action["upload"]] == [("alice", 2)]
    assert [(e["actor"], e["target"]) for e in by_action["document.delete"]] == [("alice", deleted["path"])]
    fingerprint = "key:" + hashlib.sha256(UNNAMED_KEY.encode()).hexdigest()[:8]
    searchers = [e["actor"] for e in by_action["search"]]
    assert len(searchers) == 2 and searchers[0] == fingerprint and searchers[1].startswith("cli:")
    assert [e["actor"] for e in by_action["collection.create"]] == ["alice"]
    keys_in_force = by_action["access.keys"][0]["details"]["keys"]
    assert [k["actor"] for k in keys_in_force] == ["alice", "bob", fingerprint]
    for secret in (ALICE_KEY, BOB_KEY, UNNAMED_KEY):
        assert secret not in exported.stdout
    # The export is oldest first; a window after everything is empty; --output writes the same lines to a file.
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert run_cli("audit", "export", "--since", "2999-01-01", env=env).stdout == ""
    target = tmp_path / "trail.jsonl"
    run_cli("audit", "export", "--until", "2999-01-01", "--output", str(target), env=env)
    assert target.read_text().splitlines()[: len(events)] == exported.stdout.splitlines()


def test_with_questions_off_no_question_or_answer_text_is_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, audit_questions=False)
    folder = small_folder(tmp_path / "docs")
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        wait_ready(client)
        client.post("/api/collections", json={"name": "team"})
        wait_job(client, client.post("/api/collections/team/files", files=folder_files(folder)).json()["job_id"])
        conversation = client.post("/api/conversations", json={"collection": "team"}).json()["id"]
        body = {"collection": "team", "question": QUESTION, "conversation_id": conversation}
        answer = client.post("/api/ask", json=body).json()
        assert ANSWER_WORDS in answer["answer"]
        streamed = client.post("/api/ask", json={**body, "stream": True})
        assert streamed.status_code == 200 and "event: done" in streamed.text
        client.post("/api/search", json={"query": "atlas rotation", "collection": "team"})
        client.patch(f"/api/conversations/{conversation}", json={"title": "atlas rotation schedule"})
        client.post("/api/feedback", json={"turn_id": answer["turn_id"], "rating": "up", "comment": "atlas ok"})
        trail = client.get("/api/audit", params={"limit": 500}).json()["items"]
    asks = [e for e in trail if e["action"] == "ask"]
    assert len(asks) == 2 and {e["actor"] for e in asks} == {"local"}
    assert asks[-1]["details"]["status"] == "answered"  # newest first: the second is a follow-up's repeat
    for event in asks:
        assert "question" not in event["details"] and "answer" not in event["details"]
        assert event["target"] == str(conversation) and event["details"]["turn_id"]
        assert event["details"]["passages"][0]["path"].endswith("keys.md")
    actions = {e["action"] for e in trail}
    assert {"search", "conversation.create", "conversation.rename", "feedback", "upload"} <= actions
    text = json.dumps(trail)
    for words in ("atlas", "rotate", ANSWER_WORDS):
        assert words not in text


def test_mcp_tools_record_their_caller(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    runtime = sqlite_runtime
    ingest_folder(runtime, "team", small_folder(tmp_path / "docs"))
    agent = Principal(collections=frozenset({"team"}), actor="agent-7", admin=False)
    tools.search(runtime, agent, "atlas keys", "team")
    assert tools.ask(runtime, agent, QUESTION, "team").data["status"] == "answered"
    with runtime.sessions() as session:
        items, total = audit.list_events(session, audit.Filters(actor="agent-7"))
    assert total == 2 and [e["action"] for e in items] == ["ask", "search"]
    assert items[0]["details"]["question"] == QUESTION and items[1]["details"]["query"] == "atlas keys"
    assert items[0]["target"] == str(items[0]["details"]["conversation_id"])


def test_old_events_are_purged_by_the_service_and_at_server_start(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, audit_retention_days=30)
    runtime = Runtime(settings)
    now = utcnow()
    with runtime.sessions() as session:
        for days in (400, 40, 29, 1):
            at = now - timedelta(days=days)
            session.add(AuditEvent(at=at, actor="alice", action="ask", collection="team", details={"days": days}))
        session.commit()
    assert audit.purge(runtime, 365) == 1
    assert audit.purge(runtime, 0) == 0  # 0: kept for ever
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        deadline = time.monotonic() + 30
        while not client.get("/api/audit", params={"action": "audit.purge"}).json()["items"]:
            assert time.monotonic() < deadline, "the server did not purge at start"
            time.sleep(0.2)
        purge = client.get("/api/audit", params={"action": "audit.purge"}).json()["items"][0]
        assert purge["actor"] == "system" and purge["details"] == {"removed": 1, "older_than_days": 30}
        kept = client.get("/api/audit", params={"actor": "alice"}).json()["items"]
        assert sorted(e["details"]["days"] for e in kept) == [1, 29]


@pytest.mark.parametrize("bad", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_time_bounds_at_the_ends_of_the_calendar_are_held_there(sqlite_runtime: Runtime, bad: str) -> None:
    audit.record(sqlite_runtime, "alice", "ask", collection="team")
    with sqlite_runtime.sessions() as session:
        _, total = audit.list_events(session, audit.Filters(since=datetime.fromisoformat(bad)))
    assert total == (1 if bad.startswith("0001") else 0)


def test_the_export_streams_the_filtered_trail_oldest_first_to_admins_only(tmp_path: Path) -> None:
    carol_key = "sk-carol-5c1d22e0"
    settings = make_settings(tmp_path, api_keys=f"{KEYS},carol={carol_key}:team:admin")
    runtime = Runtime(settings)
    now = utcnow()
    with runtime.sessions() as session:
        for hours, actor, action, collection in [
            (50, "alice", "ask", "team"),
            (40, "bob", "ask", "team"),
            (30, "alice", "upload", "team"),
            (20, "alice", "ask", "other"),
            (10, "bob", "ask", "team"),
        ]:
            at = now - timedelta(hours=hours)
            session.add(AuditEvent(at=at, actor=actor, action=action, collection=collection, details={"h": hours}))
        session.commit()
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        assert client.get("/api/audit/export").status_code == 401
        refused = client.get("/api/audit/export", headers=auth(BOB_KEY))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert client.get("/api/audit/export", headers=auth(UNNAMED_KEY)).status_code == 403

        exported = client.get(
            "/api/audit/export", params={"action": "ask", "collection": "team"}, headers=auth(ALICE_KEY)
        )
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        disposition = exported.headers["content-disposition"]
        assert disposition.startswith("attachment;") and ".jsonl" in disposition
        events = [json.loads(line) for line in exported.text.splitlines()]
        assert [(e["actor"], e["details"]["h"]) for e in events] == [("alice", 50), ("bob", 40), ("bob", 10)]
        assert exported.text.endswith("\n")

        window = {"since": (now - timedelta(hours=45)).isoformat(), "until": (now - timedelta(hours=15)).isoformat()}
        in_window = client.get("/api/audit/export", params={**window, "actor": "alice"}, headers=auth(ALICE_KEY))
        assert [json.loads(line)["details"]["h"] for line in in_window.text.splitlines()] == [30, 20]
        assert client.get("/api/audit/export", params={"since": "12"}, headers=auth(ALICE_KEY)).status_code == 422

        # An admin key limited to one collection exports that collection's events only.
        carols = client.get("/api/audit/export", params={"actor": "alice"}, headers=auth(carol_key))
        seen = [json.loads(line) for line in carols.text.splitlines()]
        assert [(e["action"], e["collection"]) for e in seen] == [
            ("ask", "team"),
            ("upload", "team"),
            ("audit.export", "team"),  # alice's export above, itself in the trail
        ]

        bounds = {name: str(datetime.fromisoformat(value)) for name, value in window.items()}
        recorded = client.get("/api/audit", params={"action": "audit.export"}, headers=auth(ALICE_KEY)).json()
        assert [(e["actor"], e["collection"], e["details"]) for e in recorded["items"]] == [
            ("carol", None, {"actor": "alice", "events": 3}),
            ("alice", None, {**bounds, "actor": "alice", "events": 2}),
            ("alice", "team", {"action": "ask", "events": 3}),
        ]
