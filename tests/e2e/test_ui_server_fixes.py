"""Issue #26's server-side points as a user meets them, in real Chromium: feedback given in the UI is exported
with the files read as ingest read them and a follow-up with its context (point 4; the export is not in the UI,
so it is read over HTTP and from the CLI), a spreadsheet answer states the row of the asked value with its
marker (point 5), and an upload whose server was killed finishes by itself once the server is back (point 9).
Screenshots go to test-artifacts/server-fixes/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import make_settings
from tests.e2e.test_answers_ui import ask
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.processes import processes, start_api, wait_for
from tests.integration.server import running_server
from tests.integration.test_feedback_export import CONFIG, PRICES, SLIDES
from tests.integration.test_resume_upload import many_notes, server_env
from tests.office_files import pptx_bytes, write, xlsx_bytes

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "server-fixes"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def upload(page: Page, base: str, name: str, folder: Path, done: str = "Done:") -> None:
    page.goto(base)
    page.fill("#new-name", name)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#collection-title")).to_have_text(name)
    page.set_input_files("#folder-input", str(folder))
    expect(page.locator("#upload-text")).to_contain_text(done, timeout=180_000)
    page.get_by_role("tab", name="Ask").click()


def test_feedback_given_in_the_ui_is_exported_with_notes_evidence_and_follow_up_context(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = tmp_path / "release"
    write(folder, "deck.pptx", pptx_bytes(SLIDES))
    write(folder, "config.md", CONFIG.encode())
    settings = make_settings(tmp_path)
    with running_server(settings) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        upload(page, base, "release", folder)
        notes = ask(page, "Where does the release manager sign off the build?", 0)
        expect(notes).to_contain_text("Bergen office")
        notes.get_by_role("button", name="Helpful", exact=True).click()
        expect(notes.locator(".feedback-note")).to_contain_text("Thanks")
        page.locator("#new-chat").click()
        ask(page, "What does the retry_limit setting do?", 0)
        follow = ask(page, "What is its default value?", 1)
        expect(follow).to_contain_text("Its default value is 5")
        follow.get_by_role("button", name="Helpful", exact=True).click()
        expect(follow.locator(".feedback-note")).to_contain_text("Thanks")
        shot(page, "4-follow-up-rated")
        given = httpx.get(f"{base}/api/feedback", params={"collection": "release"}).json()["items"]
        assert "retry_limit" in given[1]["standalone_question"] and given[1]["context"][0]["question"] == (
            "What does the retry_limit setting do?"
        )

    env = dict(os.environ, RAG_DATA_DIR=str(tmp_path / "data"))
    env.pop("RAG_DATABASE_URL", None)
    command = [sys.executable, "-m", "rag_service", "feedback", "export", "-c", "release"]
    exported = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=300)
    on_notes, on_follow_up = map(json.loads, exported.stdout.splitlines())
    assert on_notes["type"] == "regression" and on_notes["relevant"] == ["release/deck.pptx"], on_notes
    assert any("Bergen office" in evidence for evidence in on_notes["evidence"])
    assert on_follow_up["asked"] == "What is its default value?" and "retry_limit" in on_follow_up["question"]
    assert on_follow_up["context"][0]["question"] == "What does the retry_limit setting do?"
    assert "Its default value is 5" in on_follow_up["answer"]


def test_a_spreadsheet_answer_states_the_row_and_columns_of_the_asked_value(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = tmp_path / "pricing"
    write(folder, "prices.xlsx", xlsx_bytes({"Prices": PRICES}))
    with running_server(make_settings(tmp_path)) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        upload(page, base, "pricing", folder)
        answer = ask(page, "What is the price of the Team plan?", 0)
        expect(answer).to_contain_text("Sheet Prices, row 4: Plan = Team, Price = 12 EUR")
        expect(answer.locator("a.cite").first).to_be_visible()  # the [1] marker, linked to its source
        expect(answer.locator("table")).to_have_count(0)  # not the whole sheet
        expect(answer).not_to_contain_text("Business")
        expect(answer.locator(".sources")).to_contain_text("pricing/prices.xlsx")
        shot(page, "5-sheet-row")


def test_an_upload_whose_server_was_killed_finishes_when_the_server_is_back(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = many_notes(tmp_path / "notes", 60)
    env = server_env(tmp_path)
    with processes() as started:
        first = start_api(tmp_path, "first", env)
        started.append(first)
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        upload(page, first.base, "notes", folder, done="")
        with httpx.Client(base_url=first.base, timeout=30) as api:
            (job,) = wait_for(lambda: api.get("/api/jobs", params={"collection": "notes"}).json(), 120, "the job")
            wait_for(lambda: api.get(f"/api/jobs/{job['id']}").json()["files_done"] >= 5, 240, "5 files committed")
        first.stop(signal.SIGKILL)
        shot(page, "9-killed")

        second = start_api(tmp_path, "second", env)
        started.append(second)
        page.goto(second.base)  # the same server come back (on another port here): the panel shows the job
        expect(page.locator("#collection-title")).to_have_text("notes")
        expect(page.locator("#upload-text")).to_contain_text("Done:", timeout=240_000)
        expect(page.locator("#upload-text")).not_to_contain_text("interrupted")
        expect(page.locator("#upload-note")).to_contain_text("resumed by itself")
        expect(page.locator("#collection-stats")).to_contain_text("60 documents")
        shot(page, "9-resumed-done")
        resumed = httpx.get(f"{second.base}/api/jobs/{job['id']}").json()
        assert resumed["status"] == "done" and resumed["resumes"] == 1
        assert "resumed after the server restarted" in resumed["note"]
