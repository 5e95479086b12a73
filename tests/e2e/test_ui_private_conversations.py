"""Conversations belong to people, in real headless Chromium: two people signed in (session cookies made with the
sign-in service's own functions; the provider is not contacted), one sharing a conversation with the other.
Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from rag_service import access
from rag_service.runtime import Runtime
from rag_service.signin import sessions
from rag_service.signin.provider import Identity
from tests.conftest import make_settings
from tests.e2e.test_ui_conversations import GUIDE, page_errors, shot  # noqa: F401  (page_errors: a fixture)
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

pytestmark = pytest.mark.e2e

ISSUER = "http://127.0.0.1:9/unused"


def sign_in(runtime: Runtime, subject: str, email: str) -> tuple[str, str]:
    """A session of a person in the group `team`: the cookie's token and the CSRF token."""
    with runtime.sessions() as session:
        person = sessions.remember(session, Identity(ISSUER, subject, email, subject.title(), ("team",), "id-token"))
        token, who = sessions.start_session(session, person, "id-token", 8)
        session.commit()
    return token, who.csrf_token


@pytest.fixture
def people(tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    """A server with sign-in and one key; `ops` holds the deployment guide; the group `team` may read it."""
    docs = tmp_path / "ops"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    settings = make_settings(tmp_path, api_keys="admin-key", oidc_issuer=ISSUER, oidc_client_id="rag")
    with running_server(settings) as base:
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": "Bearer admin-key"}) as key:
            wait_ready(key)
            assert key.post("/api/collections", json={"name": "ops"}).status_code == 201
            job = key.post("/api/collections/ops/files", files=folder_files(docs)).json()
            assert wait_job(key, job["job_id"], headers=key.headers)["status"] == "done"
        runtime = Runtime(settings, migrate=False)
        with runtime.sessions() as session:
            access.set_grant(session, "team", "ops", "read", "test")
            session.commit()
        yield base, runtime


def browser_of(browser: Browser, base: str, token: str) -> BrowserContext:  # noqa: F811
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "rag_session", "value": token, "url": base}])
    return context


def test_a_shared_conversation_is_read_by_others_and_continued_by_its_owner_alone(
    browser: Browser,  # noqa: F811
    people: tuple[str, Runtime],
    page_errors: list[str],  # noqa: F811
) -> None:
    base, runtime = people
    alice_token, alice_csrf = sign_in(runtime, "alice", "alice@example.com")
    bob_token = sign_in(runtime, "bob", "bob@example.com")[0]
    with httpx.Client(
        base_url=base, timeout=120, cookies={"rag_session": alice_token}, headers={"X-CSRF-Token": alice_csrf}
    ) as alice_api:
        runbook = alice_api.post("/api/conversations", json={"collection": "ops", "title": "Worker runbook"}).json()
        asked = alice_api.post(
            "/api/ask",
            json={"collection": "ops", "question": "How do I restart the worker?", "conversation_id": runbook["id"]},
        )
        assert asked.status_code == 200, asked.text

    alice = browser_of(browser, base, alice_token)
    bob = browser_of(browser, base, bob_token)
    try:
        page = alice.new_page()
        page.on("pageerror", lambda exc: page_errors.append(f"pageerror: {exc}"))
        page.goto(base)
        row = page.locator("#conversation-list .conversation", has_text="Worker runbook")
        expect(row).to_have_count(1)
        expect(row.locator(".shared-mark")).to_have_count(0)
        row.hover()
        row.get_by_role("button", name="Share with collection: Worker runbook").click()
        expect(row.locator(".shared-mark")).to_have_text("shared")
        expect(row.get_by_role("button", name="Stop sharing: Worker runbook")).to_have_attribute("aria-pressed", "true")
        shot(page, "45-own-conversation-shared")

        other = bob.new_page()
        other.on("pageerror", lambda exc: page_errors.append(f"pageerror: {exc}"))
        other.goto(base)
        seen = other.locator("#conversation-list .conversation", has_text="Worker runbook")
        expect(seen.locator(".shared-mark")).to_have_text("shared by alice@example.com")
        seen.hover()
        expect(seen.locator("button.icon")).to_have_count(0)  # no rename, delete or share: Alice's
        seen.locator(".open").click()
        expect(other.locator(".shared-note")).to_contain_text("Shared by alice@example.com to read")
        expect(other.locator(".message.user")).to_have_text(["How do I restart the worker?"])
        expect(other.get_by_role("button", name="Helpful", exact=True)).to_have_count(0)  # only Alice rates it
        shot(other, "46-shared-conversation-read-only")

        # Bob's question starts a conversation of his own; Alice's stays as it was.
        other.fill("#question", "How long are worker logs kept?")
        other.keyboard.press("Enter")
        expect(other.locator(".message.assistant").get_by_role("button", name="Copy")).to_be_visible(timeout=60_000)
        expect(other.locator(".message.user")).to_have_text(["How long are worker logs kept?"])
        expect(other.locator(".shared-note")).to_have_count(0)
        mine = other.locator("#conversation-list .open[aria-current='true']")
        expect(mine).to_contain_text("How long are worker logs kept?")
        expect(mine.locator(".shared-mark")).to_have_count(0)
        expect(other.locator("#conversation-list .conversation")).to_have_count(2)

        # Alice stops sharing from the keyboard (S on the focused conversation): Bob no longer sees it.
        row.locator(".open").focus()
        page.keyboard.press("s")
        expect(row.locator(".shared-mark")).to_have_count(0)
        other.reload()
        expect(other.locator("#conversation-list .conversation")).to_have_count(1)
        expect(other.locator("#conversation-list")).not_to_contain_text("Worker runbook")
    finally:
        alice.close()
        bob.close()
