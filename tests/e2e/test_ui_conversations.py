"""Saved conversations, feedback, safe Markdown answers, the phone layout and honest upload progress, in real
headless Chromium against the app under uvicorn. Screenshots go to test-artifacts/ui/ for people to look at."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import make_settings
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import running_server
from tests.integration.stub_llm import stub_llm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
CHECK_EVIDENCE = Path("/work/shared/eval/check_evidence.py")

GUIDE = """# Deployment guide

## Restarting the worker

After changing the queue settings, restart the worker so that it reads them:

```
sudo systemctl restart atlas-worker
```

The worker drains its queue before it stops.

## Log retention

Worker logs are kept for fourteen days and then compressed into the archive bucket.
"""

# Everything here must stay text: nothing in it may run in the page, whether it is answered, searched or opened.
UNSAFE = """# Hostile notes

## Shipping labels

The shipping labels are printed by the warehouse printer <script>window.__pwned = "script"</script> every morning.

<img src="x" onerror="window.__pwned = 'onerror'; alert('onerror')">

The label archive is at <a href="javascript:window.__pwned='anchor'">the label archive page</a> for auditors.

The printer manual for the labels is [the printer manual](javascript:window.__pwned='markdown') on the shelf.

<svg onload="window.__pwned = 'svg'"></svg>
"""


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page_errors() -> Iterator[list[str]]:
    """Uncaught exceptions and console errors of pages that a test records; the test fails on any."""
    errors: list[str] = []
    yield errors
    assert errors == []


def open_page(browser: Browser, base: str, errors: list[str], **options: object) -> Page:  # noqa: F811
    page = browser.new_page(locale="en-US", **options)  # type: ignore[arg-type]
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.goto(base)
    return page


def create_and_upload(page: Page, name: str, folder: Path, embedder: str = "minilm") -> None:
    page.fill("#new-name", name)
    page.select_option("#new-embedder", embedder)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#collection-title")).to_have_text(name)
    page.set_input_files("#folder-input", str(folder))
    expect(page.locator("#upload-text")).to_contain_text("Done:", timeout=180_000)


def ask(page: Page, question: str, index: int) -> None:
    page.get_by_role("tab", name="Ask").click()
    page.fill("#question", question)
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").nth(index).get_by_role("button", name="Copy")).to_be_visible(
        timeout=60_000
    )


def test_conversation_survives_reload_and_feedback_becomes_eval_questions(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    page_errors: list[str],
) -> None:
    docs = tmp_path / "ops"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    settings = make_settings(tmp_path)
    with running_server(settings) as base:
        page = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 900})
        create_and_upload(page, "ops", docs)
        ask(page, "How do I restart the worker?", 0)
        first = page.locator(".message.assistant").nth(0)
        expect(first.locator("pre.code")).to_contain_text("sudo systemctl restart atlas-worker")  # Markdown code
        expect(first.locator(".sources li").first).to_contain_text("[1]")
        expect(first.locator(".sources")).to_contain_text("ops/guide.md · Restarting the worker · lines")
        first.get_by_role("button", name="Helpful", exact=True).click()
        expect(first.locator(".feedback-note")).to_contain_text("saved")
        first.locator(".feedback-comment input").fill("exactly the command")
        first.get_by_role("button", name="Send").click()
        expect(first.locator(".feedback-note")).to_contain_text("Comment saved")
        ask(page, "How long are worker logs kept?", 1)
        second = page.locator(".message.assistant").nth(1)
        second.get_by_role("button", name="Not helpful").click()
        expect(second.locator(".feedback-note")).to_contain_text("saved")
        conversation = page.locator("#conversation-list .conversation")
        expect(conversation).to_have_count(1)
        expect(conversation).to_contain_text("How do I restart the worker?")
        shot(page, "01-conversation-with-feedback")

        page.reload()
        expect(page.locator("#upload-text")).to_contain_text("Done: 1 added")  # the last job, fetched again
        expect(page.locator(".message.user")).to_have_count(2)
        expect(page.locator(".message.assistant").nth(0).locator("pre.code")).to_contain_text("atlas-worker")
        expect(page.get_by_role("button", name="Helpful", exact=True).first).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#conversation-list .open[aria-current='true']")).to_contain_text("restart the worker")
        shot(page, "02-after-reload")

        page.once("dialog", lambda dialog: dialog.accept("Worker runbook"))
        page.locator("#conversation-list").get_by_role("button", name="Rename: How do I restart the worker?").click()
        expect(conversation).to_contain_text("Worker runbook")
        page.get_by_role("button", name="New conversation").click()
        expect(page.locator(".message")).to_have_count(0)
        conversation.locator(".open").click()
        expect(page.locator(".message.user")).to_have_count(2)

        exported = subprocess.run(
            [sys.executable, "-m", "rag_service", "feedback", "export", "-c", "ops"],
            env={**os.environ, "RAG_DATA_DIR": str(settings.data_dir)},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        questions = [json.loads(line) for line in exported.stdout.splitlines()]
        assert [q["type"] for q in questions] == ["regression", "review"]
        assert (
            questions[0]["relevant"] == ["ops/guide.md"]
            and questions[0]["feedback"]["comment"] == "exactly the command"
        )
        path = tmp_path / "questions.jsonl"
        path.write_text(exported.stdout, encoding="utf-8")
        checked = subprocess.run(
            [sys.executable, str(CHECK_EVIDENCE), str(path), str(tmp_path), "--strict"], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout

        messages: list[str] = []
        page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
        page.locator("#conversation-list").get_by_role("button", name="Delete conversation: Worker runbook").click()
        expect(conversation).to_have_count(1)  # dismissed: kept
        page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
        page.locator("#conversation-list").get_by_role("button", name="Delete conversation: Worker runbook").click()
        expect(conversation).to_have_count(0)
        expect(page.locator(".message")).to_have_count(0)
        assert all("Worker runbook" in m for m in messages) and len(messages) == 2
        page.reload()
        expect(page.locator("#collection-title")).to_have_text("ops")
        expect(page.locator(".message")).to_have_count(0)
        page.close()


def test_a_hostile_document_runs_nothing(browser: Browser, tmp_path: Path, page_errors: list[str]) -> None:  # noqa: F811
    docs = tmp_path / "hostile"
    docs.mkdir()
    (docs / "labels.md").write_text(UNSAFE, encoding="utf-8")
    with running_server(make_settings(tmp_path)) as base:
        page = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        create_and_upload(page, "hostile", docs)
        ask(page, "Who prints the shipping labels?", 0)
        answer = page.locator(".message.assistant").nth(0)
        expect(answer).to_contain_text("warehouse printer")
        ask(page, "Where is the printer manual for the labels?", 1)
        manual = page.locator(".message.assistant").nth(1)
        expect(manual).to_contain_text("on the shelf")
        links = manual.locator(".answer a:not(.cite)")
        expect(links).to_have_count(1)  # the Markdown link, rendered, its javascript: target removed
        assert not (links.first.get_attribute("href") or "").lower().startswith("javascript")
        links.first.click()
        answer.locator(".sources button").first.click()
        expect(page.locator("#passage-dialog")).to_contain_text("window.__pwned")  # shown as text
        page.locator("#passage-dialog").get_by_role("button", name="Close").click()
        page.check("#search-only")
        page.fill("#question", "shipping labels printer manual")
        page.keyboard.press("Enter")
        expect(page.locator(".message.assistant").nth(2).locator(".hit").first).to_contain_text("onerror")
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert dialogs == []
        assert page.locator(".messages script, .messages img, .messages svg, .messages [onerror]").count() == 0
        shot(page, "03-hostile-document")
        page.close()


def test_phone_width_drawer_question_box_and_inline_help(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    page_errors: list[str],
) -> None:
    docs = tmp_path / "ops"
    (docs / "deeply" / "nested" / "folder").mkdir(parents=True)
    (docs / "deeply" / "nested" / "folder" / "guide.md").write_text(GUIDE, encoding="utf-8")
    with running_server(make_settings(tmp_path)) as base:
        page = open_page(browser, base, page_errors, viewport={"width": 390, "height": 844}, has_touch=True)
        sidebar = page.locator("#sidebar")
        expect(sidebar).to_be_in_viewport()  # no collections yet: the drawer is open on the create form
        page.fill("#new-name", "bad name")
        message = page.eval_on_selector("#new-name", "input => input.validationMessage")
        assert "letters, digits" in message and "no spaces" in message
        expect(page.locator("#name-rules")).to_be_visible()
        shot(page, "04-phone-create")
        create_and_upload(page, "ops", docs)
        expect(sidebar).not_to_be_in_viewport()
        page.get_by_role("tab", name="Ask").click()
        box = page.locator("#question").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844  # the question box is in view
        expect(page.locator("#question-count")).to_have_text("0 / 4000 characters")
        page.fill("#question", "如何重启服务？")
        hint = page.locator("#script-hint")
        expect(hint).to_be_visible()
        expect(hint.get_by_role("link", name="Create a multilingual collection")).to_be_visible()
        shot(page, "05-phone-cjk-hint")
        hint.get_by_role("link").click()
        expect(sidebar).to_be_in_viewport()
        expect(page.locator("#new-embedder")).to_have_value("multilingual")
        page.locator("#drawer-backdrop").click(position={"x": 370, "y": 400})
        expect(sidebar).not_to_be_in_viewport()

        page.locator("#chat-options-box summary").click()  # folded on a phone
        page.check("#search-only")
        page.fill("#question", "worker restart queue settings")
        page.keyboard.press("Enter")
        hit = page.locator(".hit").first
        expect(hit).to_be_visible(timeout=60_000)
        hit.get_by_role("button", name="Show full passage").click()
        expect(hit.locator("p.preview")).to_have_class("preview expanded")
        box = page.locator("#question").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844
        shot(page, "06-phone-search-expanded")

        page.get_by_role("tab", name="Documents").click()
        cell = page.locator("#document-rows td.path").first
        expect(cell).to_contain_text("guide.md")
        width = cell.bounding_box()
        assert width is not None and width["width"] >= 150  # the path column stays readable
        page.locator("#drawer-button").click()
        expect(sidebar).to_be_in_viewport()
        page.wait_for_timeout(300)  # the drawer's slide-in, for the screenshot
        shot(page, "07-phone-drawer")
        page.close()


def many_files(root: Path, count: int) -> Path:
    root.mkdir()
    for i in range(count):
        body = "\n\n".join(
            f"Note {i} paragraph {j}: the service {i * 50 + j} runs in zone {j % 7} and reports to team {j % 11}."
            for j in range(100)
        )
        (root / f"note-{i:03d}.md").write_text(f"# Note {i}\n\n{body}\n", encoding="utf-8")
    for name in ("site.css", "print.css", "logo.woff", "font.woff2", "data.bin"):
        (root / name).write_bytes(b"\x00\x01binary or unsupported\n")
    return root


def test_upload_progress_skipped_cancel_and_switching_collections(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    page_errors: list[str],
) -> None:
    folder = many_files(tmp_path / "bulk", 100)
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = make_settings(tmp_path, embed_group_chunks=16)
    with running_server(settings) as base:
        page = open_page(browser, base, page_errors, viewport={"width": 1280, "height": 900})
        for name in ("beta", "alpha"):
            page.fill("#new-name", name)
            page.get_by_role("button", name="Create").click()
            expect(page.locator("#collection-title")).to_have_text(name)
        expect(page.locator("#sync-form")).to_be_hidden()  # the server has no RAG_ALLOWED_ROOTS
        page.set_input_files("#folder-input", str(empty))
        expect(page.locator("#upload-text")).to_have_text("The folder you chose has no files in it.")

        page.set_input_files("#folder-input", str(folder))
        counts = page.locator("#upload-counts")
        # Within the first seconds the counts move: files read and split come before any embedding finishes.
        expect(counts).to_contain_text(re.compile(r"Read [1-9]\d* of 100 files"), timeout=15_000)
        skipped = page.locator("#skipped-box")
        expect(skipped.locator("summary")).to_have_text(re.compile(r"^5 files skipped"))
        expect(skipped.locator("li")).to_have_count(5, timeout=1)
        expect(skipped.locator("li").first).not_to_be_visible()  # collapsed until asked for
        skipped.locator("summary").click()
        expect(skipped).to_contain_text("site.css: unsupported file type")
        expect(page.locator("#upload-text")).to_contain_text(re.compile(r"left|estimating"))
        expect(page.locator("#collection-stats")).to_contain_text(re.compile(r"^[1-9]\d* documents"), timeout=30_000)
        shot(page, "08-progress")

        page.locator("#collection-list").get_by_role("button", name=re.compile("^beta")).click()
        expect(page.locator("#collection-title")).to_have_text("beta")
        expect(page.locator("#upload-status")).to_be_hidden()  # beta has no job: alpha's is not shown here
        shot(page, "09-other-collection-mid-upload")
        page.locator("#collection-list").get_by_role("button", name=re.compile("^alpha")).click()
        expect(counts).to_contain_text(re.compile(r"^Read \d+ of 100 files"))

        page.get_by_role("button", name="Cancel").click()
        text = page.locator("#upload-text")
        expect(text).to_contain_text("Cancelled.", timeout=30_000)
        expect(text).to_contain_text(re.compile(r"(\d+) of 100 files were finished and are kept; the other \d+ were"))
        kept = int(re.search(r"(\d+) of 100", text.inner_text()).group(1))  # type: ignore[union-attr]
        assert 0 < kept < 100
        expect(page.locator("#collection-stats")).to_contain_text(re.compile(r"^\d+ documents"))
        documents = int(page.locator("#collection-stats").inner_text().split()[0])
        assert documents == kept  # what the message says was kept is what the collection holds
        expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
        shot(page, "10-cancelled")
        page.close()


def test_backend_error_is_one_sentence_with_details_and_keeps_the_question(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    docs = tmp_path / "ops"
    docs.mkdir()
    (docs / "guide.md").write_text(GUIDE, encoding="utf-8")
    with stub_llm(fail_chat=True) as broken:  # it lists its models, so it is offered, but every answer fails
        settings = make_settings(
            tmp_path, allowed_backends="extractive,openai", openai_base_url=broken.url, llm_retries=0
        )
        with running_server(settings) as base:
            page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
            page.goto(base)
            create_and_upload(page, "ops", docs)
            page.get_by_role("tab", name="Ask").click()
            expect(page.locator("#backend option")).to_have_count(2)
            page.select_option("#backend", "openai")
            page.fill("#question", "How do I restart the worker?")
            page.keyboard.press("Enter")
            bubble = page.locator(".message.assistant").last
            error = bubble.locator(".error-text")
            sentence = "The answer backend “openai (LLM server)” is unavailable right now."
            expect(error).to_contain_text(sentence, timeout=60_000)
            details = error.locator("details")
            expect(details.locator("pre")).to_be_hidden()  # the technical words only when asked for
            details.locator("summary").click()
            expect(details.locator("pre")).to_be_visible()
            expect(bubble.locator(".sources")).to_contain_text("ops/guide.md")
            expect(page.locator("#question")).to_have_value("How do I restart the worker?")
            shot(page, "11-backend-error-details")
            page.close()
