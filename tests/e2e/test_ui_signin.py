"""Sign-in in the web UI (issue 28), in headless Chromium against a real OpenID provider (oidc-provider-mock, its
own HTML form) and the app under uvicorn: sign in, see only the collections one's groups give, ask, keep one's
conversations private, sign out at the provider too. Screenshots go to test-artifacts/ui/; the sign-in round
trip's time to test-artifacts/ui/sign-in-round-trip.json."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import oidc_provider_mock
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import make_settings
from tests.e2e.test_ui_conversations import open_page, page_errors, shot  # noqa: F401  (shared fixtures)
from tests.e2e.test_ui_second_pass import ask
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import folder_files, running_server, wait_job, wait_ready

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
ROOT_KEY = "sk-root-2c7d9e41"
ALICE, BOB = "alice@example.com", "bob@example.com"
QUESTION = "How often do the atlas keys rotate?"


@pytest.fixture
def issuer() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def sign_in(page: Page, who: str) -> float:
    """Through the page's own Sign in button and the provider's form; the seconds from the click to the page
    showing who is signed in (the provider's form filled in between, at machine speed)."""
    expect(page.locator("#signin-dialog")).to_be_visible()
    started = time.perf_counter()
    page.locator("#signin-go").click()
    page.get_by_placeholder("sub").fill(who)
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator("#account-name")).to_be_visible()
    return time.perf_counter() - started


def test_people_sign_in_see_their_collections_ask_privately_and_sign_out(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    issuer: str,
    page_errors: list[str],  # noqa: F811
) -> None:
    for email, name, groups in ((ALICE, "Alice", ["ops", "eng"]), (BOB, "Bob", ["ops"])):
        claims = {"email": email, "name": name, "groups": groups}
        assert httpx.put(f"{issuer}/users/{quote(email)}", json=claims).status_code == 204
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keys.md").write_text("# Keys\n\nThe atlas keys rotate every ninety days; the security team runs it.\n")
    settings = make_settings(
        tmp_path,
        oidc_issuer=issuer,
        oidc_client_id="rag-ui",
        oidc_client_secret="ui-secret",
        api_keys=f"root={ROOT_KEY}::admin",
    )
    root = {"Authorization": f"Bearer {ROOT_KEY}"}
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120, headers=root) as tool:
        wait_ready(tool)
        for name in ("team-ops", "team-eng", "finance"):
            assert tool.post("/api/collections", json={"name": name}).status_code == 201
        wait_job(tool, tool.post("/api/collections/team-ops/files", files=folder_files(docs)).json()["job_id"])
        for group, collection, role in (("ops", "team-ops", "write"), ("eng", "team-eng", "read")):
            assert tool.put(
                "/api/access/grants", json={"group": group, "collection": collection, "role": role}
            ).is_success

        alice = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 800})
        expect(alice.locator("#signin-dialog")).to_be_visible()
        shot(alice, "50-sign-in-asked")
        seconds = sign_in(alice, ALICE)
        expect(alice.locator("#account-name")).to_have_text("Alice")
        expect(alice.locator("#collection-list button")).to_have_text(
            [re.compile("^team-eng"), re.compile("^team-ops")]
        )
        # What her groups do not let her do is not offered: eng reads team-eng, ops writes team-ops, nobody
        # in them may delete a collection or create one.
        alice.get_by_role("button", name="team-eng").click()
        expect(alice.locator("#tab-upload")).to_be_hidden()
        alice.get_by_role("button", name="team-ops").click()
        expect(alice.locator("#tab-upload")).to_be_visible()
        expect(alice.locator("#delete-collection")).to_be_hidden()
        expect(alice.locator("#create-form")).to_be_hidden()
        ask(alice, QUESTION)
        expect(alice.locator(".message.assistant").last).to_contain_text("ninety days")
        expect(alice.locator("#conversation-list")).to_contain_text(QUESTION)
        shot(alice, "51-signed-in-asked")

        # Bob shares team-ops with Alice but not her conversation.
        bob = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 800})
        sign_in(bob, BOB)
        expect(bob.locator("#collection-list button")).to_have_text([re.compile("^team-ops")])
        bob.get_by_role("button", name="team-ops").click()
        ask(bob, "Who runs the key rotation?")
        expect(bob.locator("#conversation-list")).to_contain_text("Who runs the key rotation?")
        expect(bob.locator("#conversation-list")).not_to_contain_text(QUESTION)
        alice.reload()
        expect(alice.locator("#conversation-list")).not_to_contain_text("Who runs the key rotation?")

        # Sign out: here at once, then at the provider, which sends the browser back to sign in again.
        alice.locator("#sign-out").click()
        alice.get_by_role("button", name="End session").click()
        expect(alice.locator("#signin-dialog")).to_be_visible()
        expect(alice.locator("#account")).to_be_hidden()
        shot(alice, "52-signed-out")
        second = sign_in(alice, ALICE)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "sign-in-round-trip.json").write_text(
        json.dumps({"first_sign_in_s": round(seconds, 3), "second_sign_in_s": round(second, 3)}), encoding="utf-8"
    )
    # The refused requests of the signed-out page are the browser's own log lines; the page raised nothing else.
    page_errors[:] = [e for e in page_errors if "Failed to load resource" not in e]
