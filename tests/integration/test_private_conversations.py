"""Conversations belong to people (issue #28): through real HTTP on SQLite and PostgreSQL, two signed-in people
of one collection, an API key, and a server without sign-in.

People and their sessions are made with the sign-in service's own functions (`remember`, `start_session`): the
provider is contacted only at /auth/login and /auth/callback, which these tests do not use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rag_service import access
from rag_service.api.auth import Principal
from rag_service.errors import NotAllowedError, NotFoundError
from rag_service.mcp import tools
from rag_service.runtime import Runtime
from rag_service.signin import sessions
from rag_service.signin.provider import Identity
from tests.conftest import make_settings
from tests.corpus import MARKDOWN
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

ISSUER = "http://127.0.0.1:9/unused"
KEYS = "ops=admin-key::admin"


@dataclass
class Team:
    alice: httpx.Client
    bob: httpx.Client
    key: httpx.Client
    runtime: Runtime


def signed_in(base: str, runtime: Runtime, subject: str, email: str) -> httpx.Client:
    """A browser of a person in the group `team`, signed in: the session cookie and the CSRF header."""
    with runtime.sessions() as session:
        person = sessions.remember(session, Identity(ISSUER, subject, email, subject.title(), ("team",), "id-token"))
        token, who = sessions.start_session(session, person, "id-token", 8)
        session.commit()
    return httpx.Client(
        base_url=base, timeout=120, cookies={"rag_session": token}, headers={"X-CSRF-Token": who.csrf_token}
    )


@pytest.fixture
def team(tmp_path: Path, database_url: str) -> Iterator[Team]:
    """Alice and Bob may read `alpha` (one handbook); `ops` is an admin API key."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "handbook.md").write_text(MARKDOWN, encoding="utf-8")
    settings = make_settings(tmp_path, database_url, api_keys=KEYS, oidc_issuer=ISSUER, oidc_client_id="rag")
    with running_server(settings) as base:
        key = httpx.Client(base_url=base, timeout=120, headers={"Authorization": "Bearer admin-key"})
        wait_ready(key)
        assert key.post("/api/collections", json={"name": "alpha"}).status_code == 201
        job = key.post("/api/collections/alpha/files", files=folder_files(docs)).json()
        assert wait_job(key, job["job_id"], headers=key.headers)["status"] == "done"
        runtime = Runtime(settings, migrate=False)
        with runtime.sessions() as session:
            access.set_grant(session, "team", "alpha", "read", "test")
            session.commit()
        alice = signed_in(base, runtime, "alice", "alice@example.com")
        bob = signed_in(base, runtime, "bob", "bob@example.com")
        yield Team(alice, bob, key, runtime)
        for c in (alice, bob, key):
            c.close()


def ask(api: httpx.Client, question: str, conversation: int) -> httpx.Response:
    return api.post("/api/ask", json={"question": question, "collection": "alpha", "conversation_id": conversation})


def listed(api: httpx.Client) -> dict[int, dict]:
    return {c["id"]: c for c in api.get("/api/conversations").json()["conversations"]}


def test_a_persons_conversations_are_private_until_shared(team: Team) -> None:
    alice, bob, key = team.alice, team.bob, team.key
    created = alice.post("/api/conversations", json={"collection": "alpha"})
    assert created.status_code == 201, created.text
    assert created.json() | {"created_at": None, "updated_at": None} == {
        "id": created.json()["id"],
        "collection": "alpha",
        "title": "",
        "turns": 0,
        "created_at": None,
        "updated_at": None,
        "shared": False,
        "mine": True,
        "owner": "alice@example.com",
    }
    private = created.json()["id"]
    first = ask(alice, "How do I install Atlas on Linux?", private)
    assert first.status_code == 200 and first.json()["turn_id"], first.text
    turn = first.json()["turn_id"]
    assert alice.post("/api/feedback", json={"turn_id": turn, "rating": "up", "comment": "exact"}).status_code == 201
    # A key's conversation has no owner: the collection's, as before people signed in.
    common = key.post("/api/conversations", json={"collection": "alpha", "title": "Team notes"}).json()
    assert (common["mine"], common["owner"], common["shared"]) == (False, None, False)

    def hidden_from(api: httpx.Client) -> None:
        """Another person's private conversation is answered exactly like one that does not exist."""
        assert private not in listed(api)
        assert private not in {c["id"] for c in api.get("/api/collections/alpha/conversations").json()["conversations"]}
        for response in (
            api.get(f"/api/conversations/{private}"),
            api.patch(f"/api/conversations/{private}", json={"title": "mine now"}),
            api.delete(f"/api/conversations/{private}"),
            api.post(f"/api/conversations/{private}/share", json={"shared": True}),
            ask(api, "And on Windows?", private),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["message"] == f"no conversation {private}"
        unknown = api.get("/api/conversations/999999").json()["error"]
        assert api.get(f"/api/conversations/{private}").json()["error"] == unknown | {
            "message": f"no conversation {private}"
        }
        feedback = api.post("/api/feedback", json={"turn_id": turn, "rating": "down"})
        assert feedback.status_code == 404 and feedback.json()["error"]["message"] == f"no answer {turn}"
        assert "exact" not in api.get("/api/feedback").text
        assert "Atlas" not in api.get("/api/feedback", params={"collection": "alpha"}).text

    hidden_from(bob)
    hidden_from(key)
    # MCP takes keys only: its ask does not find a person's private conversation either.
    with pytest.raises(NotFoundError, match=f"no conversation {private}"):
        tools.ask(team.runtime, Principal(actor="ops"), "And on Windows?", "alpha", private)

    # Alice sees her own and the collection's; so does Bob, who may use the unowned one as anyone may.
    assert set(listed(alice)) == {private, common["id"]}
    assert listed(alice)[private]["mine"] and listed(bob)[common["id"]]["mine"] is False
    assert ask(bob, "How do we rotate the API keys?", common["id"]).status_code == 200
    assert bob.patch(f"/api/conversations/{common['id']}", json={"title": "Shared notes"}).status_code == 200
    unowned = alice.post(f"/api/conversations/{common['id']}/share", json={"shared": True})
    assert unowned.status_code == 403 and "no owner" in unowned.json()["error"]["message"]
    assert bob.post("/api/feedback", json={"turn_id": turn, "rating": "up"}).status_code == 404

    # Shared: everyone who may read the collection may read it, only Alice may change or continue it.
    assert alice.post(f"/api/conversations/{private}/share", json={"shared": "yes"}).status_code == 422
    no_csrf = alice.post(f"/api/conversations/{private}/share", json={"shared": True}, headers={"X-CSRF-Token": ""})
    assert no_csrf.status_code == 403
    shared = alice.post(f"/api/conversations/{private}/share", json={"shared": True})
    assert shared.status_code == 200 and shared.json()["shared"] is True and shared.json()["mine"] is True
    for api in (bob, key):
        seen = listed(api)[private]
        assert (seen["shared"], seen["mine"], seen["owner"]) == (True, False, "alice@example.com")
        read = api.get(f"/api/conversations/{private}")
        assert read.status_code == 200 and read.json()["items"][0]["question"] == "How do I install Atlas on Linux?"
        assert read.json()["items"][0]["feedback"] == {"rating": "up", "comment": "exact"}
        for response, verb in (
            (ask(api, "And on Windows?", private), "continue it"),
            (api.patch(f"/api/conversations/{private}", json={"title": "mine now"}), "rename it"),
            (api.delete(f"/api/conversations/{private}"), "delete it"),
            (api.post(f"/api/conversations/{private}/share", json={"shared": False}), "share it"),
        ):
            assert response.status_code == 403, response.text
            message = response.json()["error"]["message"]
            assert "alice@example.com" in message and f"only its owner may {verb}" in message
        rated = api.post("/api/feedback", json={"turn_id": turn, "rating": "down"})
        assert rated.status_code == 403 and "only its owner may rate it" in rated.json()["error"]["message"]
        assert [f["comment"] for f in api.get("/api/feedback").json()["items"]] == ["exact"]
    with pytest.raises(NotAllowedError, match="only its owner may continue it"):
        tools.ask(team.runtime, Principal(actor="ops"), "And on Windows?", "alpha", private)
    follow = ask(alice, "And on Windows?", private)
    assert follow.status_code == 200 and follow.json()["conversation_id"] == private
    assert alice.get(f"/api/conversations/{private}").json()["turns"] == 2

    # Unshared: hidden again; the trail has both changes, by Alice.
    assert alice.post(f"/api/conversations/{private}/share", json={"shared": False}).json()["shared"] is False
    hidden_from(bob)
    hidden_from(key)
    trail = key.get("/api/audit", params={"action": "conversation.share"}).json()["items"]
    assert [(e["actor"], e["target"], e["details"]["shared"]) for e in trail] == [
        ("alice@example.com", str(private), False),
        ("alice@example.com", str(private), True),
    ]

    # Renamed and deleted by Alice; the feedback she gave stays hers alone.
    assert alice.patch(f"/api/conversations/{private}", json={"title": "Installing"}).json()["title"] == "Installing"
    assert alice.delete(f"/api/conversations/{private}").status_code == 204
    assert alice.get(f"/api/conversations/{private}").status_code == 404
    kept = alice.get("/api/feedback").json()["items"]
    assert [(f["turn_id"], f["comment"]) for f in kept] == [(None, "exact")]
    for api in (bob, key):
        assert "exact" not in api.get("/api/feedback").text


def test_without_sign_in_conversations_are_the_collections(tmp_path: Path) -> None:
    """No sign-in configured: every conversation is unowned, and there is nothing to share."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'rag.db'}")
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as api:
        wait_ready(api)
        assert api.post("/api/collections", json={"name": "alpha"}).status_code == 201
        created = api.post("/api/conversations", json={"collection": "alpha", "title": "Notes"}).json()
        assert (created["shared"], created["mine"], created["owner"]) == (False, False, None)
        assert list(listed(api)) == [created["id"]]
        refused = api.post(f"/api/conversations/{created['id']}/share", json={"shared": True})
        assert refused.status_code == 403 and "no owner" in refused.json()["error"]["message"]
        assert api.patch(f"/api/conversations/{created['id']}", json={"title": "Renamed"}).status_code == 200
        assert api.delete(f"/api/conversations/{created['id']}").status_code == 204
