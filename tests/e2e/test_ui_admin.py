"""The admin view (issue 28, parts 2 and 4), in headless Chromium against the app under uvicorn: the audit trail
filtered, paged and downloaded as JSON Lines, and who may do what: a grant added and removed, and its effect on
a signed-in person shown as a sentence. On a server without keys the caller is `local`, an admin; with keys, an
admin key downloads through fetch and a key without the flag sees no Admin button. Screenshots go to
test-artifacts/ui/."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from rag_service.db.session import session_factory
from rag_service.signin import sessions
from rag_service.signin.provider import Identity
from tests.conftest import make_settings
from tests.e2e.test_ui_conversations import open_page, page_errors, shot  # noqa: F401  (shared fixtures)
from tests.e2e.test_ui_second_pass import PHONE, ask, create, no_overflow, upload_and_wait
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import running_server

pytestmark = pytest.mark.e2e

KEYS_NOTE = "# Keys\n\nThe atlas keys rotate every ninety days; the security team runs the rotation.\n"
QUESTION = "How often do the atlas keys rotate?"
ADMIN_KEY, READER_KEY = "sk-root-6b0e3f17", "sk-reader-91ad42c5"


def docs_folder(root: Path) -> Path:
    (root / "ops").mkdir(parents=True)
    (root / "ops" / "keys.md").write_text(KEYS_NOTE, encoding="utf-8")
    return root


def sign_in_record(database_url: str, subject: str, email: str, groups: tuple[str, ...]) -> None:
    """A person as a sign-in leaves them (the provider's round trip is test_ui_signin.py's)."""
    identity = Identity(
        issuer="https://id.example.com", subject=subject, email=email, name=subject.title(), groups=groups, id_token=""
    )
    with session_factory(database_url)() as session:
        sessions.remember(session, identity)
        session.commit()


def filter_action(page: Page, action: str) -> None:
    page.select_option("#audit-action", action)
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_function(
        """action => { const cells = [...document.querySelectorAll('#audit-rows tr td:nth-child(3)')];
            return cells.length > 0 && cells.every(cell => cell.innerText === action); }""",
        arg=action,
    )


def rows(page: Page) -> list[dict[str, str]]:
    """The audit table as the page shows it: each row's cells by column, and the event's exact time."""
    return page.locator("#audit-rows tr").evaluate_all(
        """trs => trs.filter(tr => tr.cells.length === 6).map(tr => ({
            at: tr.querySelector('time').getAttribute('datetime'), time: tr.cells[0].innerText,
            actor: tr.cells[1].innerText, action: tr.cells[2].innerText, collection: tr.cells[3].innerText,
            details: tr.cells[5].innerText}))"""
    )


def test_audit_trail_and_access_in_the_admin_view(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    page_errors: list[str],  # noqa: F811
) -> None:
    settings = make_settings(tmp_path)
    folder = docs_folder(tmp_path / "docs")
    with running_server(settings) as base:
        page = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 900})
        create(page, "team-ops")
        upload_and_wait(page, folder)
        ask(page, QUESTION)
        for _ in range(55):  # more reads than a page holds: each is itself in the trail
            assert httpx.get(f"{base}/api/audit", params={"limit": 1}).status_code == 200

        # Audit trail: the newest first, in local time, filtered by action, each row's details unfolding.
        page.get_by_role("button", name="Admin").click()
        expect(page.locator("#admin-view")).to_be_visible()
        expect(page.locator("main.layout")).to_be_hidden()
        assert page.url.endswith("#admin")
        expect(page.get_by_role("tab", name="Audit trail")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#audit-rows tr").first).to_contain_text("audit.read")
        filter_action(page, "ask")
        expect(page.locator("#audit-count")).to_have_text("1 event")
        [asked] = rows(page)
        assert asked["actor"] == "local" and asked["action"] == "ask" and asked["collection"] == "team-ops"
        assert "status: answered" in asked["details"] and "question: " + QUESTION in asked["details"]
        assert asked["time"] and "T" not in asked["time"]  # the browser's own date and time, not ISO
        page.locator("#audit-rows details summary").click()
        expect(page.locator("#audit-rows details pre")).to_contain_text('"passages"')
        expect(page.locator("#audit-newer")).to_be_disabled()
        expect(page.locator("#audit-older")).to_be_disabled()
        shot(page, "40-admin-audit")

        # The download holds exactly the filtered events, oldest first, one JSON object a line.
        with page.expect_download() as downloading:
            page.get_by_role("button", name="Download JSON Lines").click()
        download = downloading.value
        assert download.suggested_filename.endswith(".jsonl")
        lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines]
        assert [(e["action"], e["actor"], e["details"]["question"]) for e in events] == [("ask", "local", QUESTION)]

        # Paging: 50 a page; older pages are read as the trail was at the first, so no row comes twice.
        filter_action(page, "audit.read")
        expect(page.locator("#audit-rows tr")).to_have_count(50)
        expect(page.locator("#audit-page")).to_contain_text("1–50 of")
        first = rows(page)
        page.get_by_role("button", name="Older").click()
        expect(page.locator("#audit-page")).to_contain_text("51–")
        second = rows(page)
        assert {r["at"] for r in first}.isdisjoint(r["at"] for r in second)
        assert min(r["at"] for r in first) > max(r["at"] for r in second)
        page.get_by_role("button", name="Newer").click()
        expect(page.locator("#audit-page")).to_contain_text("1–50 of")
        page.fill("#audit-since", "2999-01-01")
        page.get_by_role("button", name="Filter", exact=True).click()
        expect(page.locator("#audit-rows")).to_have_text("No events match these filters.")
        page.get_by_role("button", name="Clear filters").click()
        expect(page.locator("#audit-count")).not_to_have_text("0 events")
        expect(page.locator("#audit-action")).to_have_value("")

        # Access: no admin groups on this server; a grant added, and what it gives a person who signed in.
        sign_in_record(settings.database_url, "alice", "alice@example.com", ("ops", "staff"))
        sign_in_record(settings.database_url, "bob", "bob@example.com", ("sales",))
        page.get_by_role("tab", name="Access").click()
        assert page.url.endswith("#admin/access")
        expect(page.locator("#admin-groups")).to_have_text("None: RAG_OIDC_ADMIN_GROUPS is empty.")
        expect(page.locator("#grant-rows")).to_have_text("No grants yet.")
        expect(page.locator(".person-rights", has_text="alice@")).to_have_text(
            "alice@example.com gets nothing: none of their groups has a grant"
        )
        page.fill("#grant-group", "   ")  # the server's reason, under the button
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#grant-form .field-error")).to_contain_text("Correct it and try again.")
        page.fill("#grant-group", "ops")
        page.select_option("#grant-collection", "team-ops")
        page.select_option("#grant-role", "write")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#grant-form .field-error")).to_have_count(0)
        grant = page.locator("#grant-rows tr")
        expect(grant).to_have_count(1)
        expect(grant).to_contain_text("ops")
        expect(grant).to_contain_text("team-ops")
        expect(grant).to_contain_text("write")
        expect(grant).to_contain_text("local")
        # A collection not created yet, for everyone in staff.
        page.fill("#grant-group", "staff")
        page.select_option("#grant-collection", label="another name (not created yet)…")
        page.fill("#grant-name", "handbook")
        page.select_option("#grant-role", "read")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#grant-rows tr")).to_have_count(2)

        page.reload()  # the address keeps the view; the people's rights are worked out now
        expect(page.locator("#panel-access")).to_be_visible()
        expect(page.locator(".person-rights", has_text="alice@")).to_have_text(
            "alice@example.com gets handbook: read from group staff; team-ops: write from group ops"
        )
        expect(page.locator(".person-rights", has_text="bob@")).to_have_text(
            "bob@example.com gets nothing: none of their groups has a grant"
        )
        expect(page.locator(".person", has_text="alice@")).to_contain_text("groups: ops, staff")
        shot(page, "41-admin-access")

        # Phone width: the same view, nothing sticking out, the tables stacked.
        phone = open_page(browser, f"{base}/#admin", page_errors, viewport=PHONE, has_touch=True)
        expect(phone.locator("#audit-rows tr").first).to_be_visible()
        no_overflow(phone, "admin audit")
        phone.locator("#audit-rows details summary").first.click()
        no_overflow(phone, "admin audit, details open")
        shot(phone, "42-admin-phone")
        phone.get_by_role("tab", name="Access").click()
        expect(phone.locator(".person-rights", has_text="alice@")).to_contain_text("team-ops: write from group ops")
        no_overflow(phone, "admin access")
        phone.select_option("#lang-select", "zh")
        expect(phone.locator(".person-rights", has_text="bob@")).to_have_text(
            "bob@example.com 没有任何权限：其所在的组都没有授权"
        )
        no_overflow(phone, "admin access in Chinese")
        phone.close()

        # Removing a grant (after a confirmation) takes it from the person at once; both changes are recorded.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Remove group ops's write on team-ops").click()
        expect(page.locator("#grant-rows tr")).to_have_count(1)
        expect(page.locator(".person-rights", has_text="alice@")).to_have_text(
            "alice@example.com gets handbook: read from group staff"
        )
        page.get_by_role("tab", name="Audit trail").click()
        filter_action(page, "access.revoke")
        [revoked] = rows(page)
        assert revoked["collection"] == "team-ops" and "group: ops" in revoked["details"]

        page.get_by_role("button", name="Back").click()
        expect(page.locator("#admin-view")).to_be_hidden()
        expect(page.locator("#collection-title")).to_have_text("team-ops")
        # The refused grant is logged by the browser itself; the page raised nothing else.
        page_errors[:] = [e for e in page_errors if "Failed to load resource" not in e]


def keyed_page(context: BrowserContext, url: str, key: str, errors: list[str]) -> Page:
    """A page whose browser keeps this API key, as the key dialog leaves it."""
    context.add_init_script(f"localStorage.setItem('rag-service.apiKey', '{key}')")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.goto(url)
    return page


def test_an_admin_key_downloads_through_fetch_and_other_keys_see_no_admin(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    page_errors: list[str],  # noqa: F811
) -> None:
    keys = f"root={ADMIN_KEY}::admin,reader={READER_KEY}:team:ro"
    with running_server(make_settings(tmp_path, api_keys=keys)) as base:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert httpx.post(f"{base}/api/collections", json={"name": "team"}, headers=headers).status_code == 201

        reader = browser.new_context(locale="en-US")
        page = keyed_page(reader, f"{base}/#admin", READER_KEY, page_errors)
        expect(page.locator("#collection-title")).to_have_text("team")
        expect(page.locator("#admin-button")).to_be_hidden()
        expect(page.locator("#admin-view")).to_be_hidden()  # the address alone opens nothing
        reader.close()

        root = browser.new_context(locale="en-US")
        page = keyed_page(root, base, ADMIN_KEY, page_errors)
        page.get_by_role("button", name="Admin").click()
        filter_action(page, "collection.create")
        [created] = rows(page)
        assert created["actor"] == "root" and created["collection"] == "team"
        with page.expect_download() as downloading:
            page.get_by_role("button", name="Download JSON Lines").click()
        download = downloading.value
        assert download.suggested_filename.endswith(".jsonl")
        events = [json.loads(line) for line in Path(download.path()).read_text(encoding="utf-8").splitlines()]
        assert [(e["action"], e["actor"]) for e in events] == [("collection.create", "root")]
        root.close()
