"""Sign-in (issue 28, parts 1 and 2) against a real OpenID provider over HTTP: oidc-provider-mock serves
discovery, JWKS, authorization, token, userinfo and end_session; rag-service runs under uvicorn. The browser's
part is played by httpx here (tests/e2e/test_ui_signin.py drives Chromium); on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from rag_service.signin.provider import Provider, SignInError
from tests.conftest import make_settings
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

CLI = [sys.executable, "-m", "rag_service"]
ROOT_KEY = "sk-root-5b1f0c9e"
CLIENT_ID, CLIENT_SECRET = "rag-service", "rag-secret"
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def issuer() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def add_person(issuer: str, email: str, name: str, groups: list[str]) -> None:
    claims = {"email": email, "name": name, "groups": groups}
    assert httpx.put(f"{issuer}/users/{quote(email)}", json=claims).status_code == 204


def sign_in(client: httpx.Client, who: str, next_path: str = "/") -> httpx.Response:
    """What a browser does: /auth/login → the provider's form (submitted as `who`) → /auth/callback."""
    to_provider = client.get("/auth/login", params={"next": next_path})
    assert to_provider.status_code == 302, to_provider.text
    back = httpx.post(to_provider.headers["location"], data={"sub": who})
    assert back.status_code == 302, back.text
    return client.get(back.headers["location"])


def csrf(client: httpx.Client) -> dict[str, str]:
    return {"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]}


def root() -> dict[str, str]:
    return {"Authorization": f"Bearer {ROOT_KEY}"}


def settings_for(tmp_path: Path, issuer: str, database_url: str | None = None, **overrides: object):
    values = {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_admin_groups": "platform",
        "api_keys": f"root={ROOT_KEY}::admin",
    }
    return make_settings(tmp_path, database_url, **(values | overrides))


def test_people_sign_in_see_their_groups_collections_and_are_in_the_audit_trail(
    tmp_path: Path, database_url: str, issuer: str, cli_env: dict[str, str]
) -> None:
    add_person(issuer, ALICE, "Alice", ["ops", "eng"])
    add_person(issuer, BOB, "Bob", ["eng"])
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keys.md").write_text("# Keys\n\nThe atlas keys rotate every ninety days.\n")
    with running_server(settings_for(tmp_path, issuer, database_url)) as base:
        with httpx.Client(base_url=base, timeout=120) as tool:
            wait_ready(tool)
            assert tool.get("/api/features").json()["sign_in"] is True
            # Nobody signed in: the API asks for a sign-in or a key; a key works as before.
            assert tool.get("/api/collections").status_code == 401
            for name in ("team-ops", "team-eng", "finance"):
                assert tool.post("/api/collections", json={"name": name}, headers=root()).status_code == 201
            for group, collection, role in (("ops", "team-ops", "write"), ("eng", "team-eng", "read")):
                grant = {"group": group, "collection": collection, "role": role}
                assert tool.put("/api/access/grants", json=grant, headers=root()).status_code == 200

        with httpx.Client(base_url=base, timeout=120) as alice:
            landed = sign_in(alice, ALICE, next_path="/?from=test")
            assert landed.status_code == 303 and landed.headers["location"] == "/?from=test"
            cookie = landed.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain http here
            me = alice.get("/api/me").json()
            assert me["signed_in"] and me["actor"] == ALICE and me["name"] == "Alice"
            assert {(r["collection"], r["role"]) for r in me["roles"]} == {("team-ops", "write"), ("team-eng", "read")}
            assert not me["admin"]
            names = [c["name"] for c in alice.get("/api/collections").json()["collections"]]
            assert sorted(names) == ["team-eng", "team-ops"]
            assert alice.get("/api/collections/finance").status_code == 404  # as if it did not exist
            token = csrf(alice)
            # Write where a group gives write; read-only where it gives read; a change without the token refused.
            assert alice.post("/api/collections/team-ops/files", files=folder_files(docs)).status_code == 403
            upload = alice.post("/api/collections/team-ops/files", files=folder_files(docs), headers=token)
            assert upload.status_code == 202, upload.text
            wait_job(alice, upload.json()["job_id"])
            refused = alice.post("/api/collections/team-eng/files", files=folder_files(docs), headers=token)
            assert refused.status_code == 403 and "write access" in refused.json()["error"]["message"]
            assert alice.get("/api/audit").status_code == 403  # not an admin
            asked = alice.post(
                "/api/ask",
                json={"collection": "team-ops", "question": "How often do the atlas keys rotate?"},
                headers=token,
            )
            assert asked.status_code == 200 and "ninety days" in asked.json()["answer"]
            document = alice.get("/api/collections/team-ops/documents").json()["items"][0]
            deleted = alice.delete(f"/api/collections/team-ops/documents/{document['id']}", headers=token)
            assert deleted.status_code == 204, deleted.text
            # Keys still work beside the cookie, and name their own actor.
            assert alice.get("/api/collections", headers=root()).json()["collections"][0]["name"]
            # Sign out: the session ends here at once, and the provider's own sign-out is offered.
            out = alice.post("/auth/logout", headers=token)
            assert out.status_code == 200
            assert out.json()["logout_url"].startswith(f"{issuer}/oauth2/end_session?id_token_hint=")
            assert alice.get("/api/me").json()["signed_in"] is False

        with httpx.Client(base_url=base, timeout=120) as bob:
            sign_in(bob, BOB)
            assert [c["name"] for c in bob.get("/api/collections").json()["collections"]] == ["team-eng"]
            # The admin's view of the mapping's effect, person by person, with the rule behind each right.
            people = {p["email"]: p for p in httpx.get(f"{base}/api/access", headers=root()).json()["people"]}
            alice_rights = {r["collection"]: r for r in people[ALICE]["rights"]}
            assert alice_rights["team-ops"]["role"] == "write"
            assert alice_rights["team-ops"]["from"][0]["group"] == "ops"
            assert [r["collection"] for r in people[BOB]["rights"]] == ["team-eng"]

    env = {**cli_env, "RAG_DATABASE_URL": database_url}
    exported = subprocess.run(
        [*CLI, "audit", "export", "--since", "2000-01-01"], env=env, capture_output=True, text=True, timeout=300
    )
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    by_alice = {e["action"]: e for e in events if e["actor"] == ALICE}
    assert {"sign_in", "upload", "ask", "document.delete", "sign_out"} <= set(by_alice)
    assert by_alice["ask"]["details"]["question"] == "How often do the atlas keys rotate?"
    assert by_alice["upload"]["collection"] == by_alice["document.delete"]["collection"] == "team-ops"
    assert any(e["action"] == "access.grant" and e["actor"] == "root" for e in events)
    assert not any(ROOT_KEY in line for line in exported.stdout.splitlines())


def test_a_sign_in_is_refused_when_its_state_is_replayed_or_its_token_expired(tmp_path: Path, issuer: str) -> None:
    add_person(issuer, ALICE, "Alice", ["ops"])
    with running_server(settings_for(tmp_path, issuer)) as base, httpx.Client(base_url=base) as client:
        to_provider = client.get("/auth/login")
        back = httpx.post(to_provider.headers["location"], data={"sub": ALICE}).headers["location"]
        assert client.get(back).status_code == 303
        replayed = client.get(back)
        assert replayed.status_code == 400 and "already used" in replayed.text
        # A state nobody issued, and the provider's own refusal, end on a page that says so.
        assert client.get("/auth/callback", params={"code": "x", "state": "made-up"}).status_code == 400
        to_provider = client.get("/auth/login")
        denied = httpx.post(to_provider.headers["location"], data={"action": "deny"}).headers["location"]
        page = client.get(denied)
        assert page.status_code == 401 and "access_denied" in page.text
        # A cross-site page's post carries the cookie but not the token: nothing changes, the session lives on.
        assert client.post("/auth/logout").status_code == 403
        assert client.post("/auth/logout", headers={"X-CSRF-Token": "guess"}).status_code == 403
        assert client.get("/api/me").json()["signed_in"] is True
        # A return path off this server is ignored: no open redirect.
        to_provider = client.get("/auth/login", params={"next": "//evil.example/x"})
        back = httpx.post(to_provider.headers["location"], data={"sub": ALICE}).headers["location"]
        assert client.get(back).headers["location"] == "/"

    # A provider whose ID tokens are already expired when they arrive.
    with oidc_provider_mock.run_server_in_thread(access_token_max_age=timedelta(minutes=-10)) as stale:
        stale_issuer = f"http://localhost:{stale.server_port}"
        add_person(stale_issuer, ALICE, "Alice", ["ops"])
        settings = settings_for(tmp_path / "stale", stale_issuer)
        with running_server(settings) as base, httpx.Client(base_url=base) as client:
            page = sign_in(client, ALICE)
            assert page.status_code == 401 and "expired" in page.text.lower()
            assert client.get("/api/me").json()["signed_in"] is False


def test_an_admin_group_member_reads_the_trail_and_edits_grants_with_the_csrf_token(
    tmp_path: Path, issuer: str
) -> None:
    add_person(issuer, "carol@example.com", "Carol", ["platform"])  # RAG_OIDC_ADMIN_GROUPS=platform here
    with running_server(settings_for(tmp_path, issuer)) as base, httpx.Client(base_url=base) as carol:
        sign_in(carol, "carol@example.com")
        me = carol.get("/api/me").json()
        assert me["admin"] and me["roles"] == [{"collection": "*", "role": "admin"}]
        assert carol.post("/api/collections", json={"name": "handbook"}, headers=csrf(carol)).status_code == 201
        grant = {"group": "staff", "collection": "handbook", "role": "read"}
        assert carol.put("/api/access/grants", json=grant).status_code == 403  # no CSRF token
        made = carol.put("/api/access/grants", json=grant, headers=csrf(carol)).json()
        trail = carol.get("/api/audit", params={"action": "access.grant"}).json()["items"]
        assert trail[0]["actor"] == "carol@example.com" and trail[0]["target"] == str(made["id"])
        access = carol.get("/api/access").json()
        assert access["admin_groups"] == ["platform"]
        carol_rights = next(p for p in access["people"] if p["email"] == "carol@example.com")["rights"]
        assert carol_rights == [
            {"collection": "*", "role": "admin", "from": [
                {"group": "platform", "collection": "*", "role": "admin", "source": "RAG_OIDC_ADMIN_GROUPS"}
            ]}
        ]  # fmt: skip
        assert carol.delete(f"/api/access/grants/{made['id']}", headers=csrf(carol)).status_code == 204


def issue_tokens(issuer: str, client_id: str, who: str, nonce: str) -> dict:
    """Tokens from the provider for `client_id`, through its real authorization and token endpoints."""
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    verifier = secrets.token_urlsafe(48)
    client = OAuth2Client(client_id=client_id, client_secret="x", scope="openid email profile",
                          redirect_uri="http://127.0.0.1:9/cb", code_challenge_method="S256")  # fmt: skip
    url, _ = client.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
    code = parse_qs(urlsplit(httpx.post(url, data={"sub": who}).headers["location"]).query)["code"][0]
    return client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=verifier)


def test_an_id_token_is_checked_for_signature_audience_and_nonce(tmp_path: Path, issuer: str) -> None:
    add_person(issuer, ALICE, "Alice", ["ops"])
    provider = Provider(settings_for(tmp_path, issuer))
    good = issue_tokens(issuer, CLIENT_ID, ALICE, nonce="n-1")
    claims = provider.check_id_token(good["id_token"], "n-1", good["access_token"])
    assert claims["sub"] == ALICE and claims["groups"] == ["ops"]

    header, payload, signature = good["id_token"].split(".")
    claims_in = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims_in | {"groups": ["platform"]}).encode()).rstrip(b"=")
    with pytest.raises(SignInError, match="refused"):
        provider.check_id_token(f"{header}.{forged.decode()}.{signature}", "n-1")
    with pytest.raises(SignInError, match="nonce"):
        provider.check_id_token(good["id_token"], "another-nonce")
    other = issue_tokens(issuer, "another-app", ALICE, nonce="n-2")
    with pytest.raises(SignInError, match="aud"):
        provider.check_id_token(other["id_token"], "n-2")
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    with pytest.raises(SignInError):
        provider.check_id_token(f"{unsigned}.{payload}.", "n-1")


def test_without_sign_in_settings_nothing_changes(tmp_path: Path) -> None:
    """`make run` as before: no cookie asked for, /auth/login is not there, the caller is `local` and admin."""
    with running_server(make_settings(tmp_path)) as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/features").json()["sign_in"] is False
        assert client.get("/api/me").json() == {
            "signed_in": False, "sign_in": False, "actor": "local", "email": None, "name": None, "groups": [],
            "roles": [], "admin": True, "csrf_token": None,
        }  # fmt: skip
        assert client.get("/auth/login").status_code == 404
        assert client.post("/api/collections", json={"name": "notes"}).status_code == 201  # no CSRF token needed
