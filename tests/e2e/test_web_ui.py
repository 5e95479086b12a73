"""The web UI in real headless Chromium (Debian's), driven by Playwright, against the app under uvicorn.

Screenshots of each step go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rag_service.settings import Settings
from tests.conftest import make_settings
from tests.corpus import build_corpus
from tests.integration.server import free_port, running_server
from tests.integration.stub_llm import stub_llm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_upload_folder_ask_and_follow_up(browser: Browser, tmp_path: Path) -> None:
    folder = build_corpus(tmp_path / "team-docs")
    settings = make_settings(tmp_path, embed_group_chunks=16)
    with running_server(settings) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
        page.goto(base)
        expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible()
        shot(page, "01-empty")

        page.fill("#new-name", "team")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#collection-title")).to_have_text("team")
        expect(page.locator("#panel-upload")).to_be_visible()

        page.set_input_files("#folder-input", str(folder))
        expect(page.locator("#upload-text")).to_contain_text("Done:", timeout=180_000)
        expect(page.locator("#upload-failures")).to_contain_text("broken.pdf")
        expect(page.locator("#collection-stats")).to_contain_text("11 documents")
        shot(page, "02-uploaded")

        page.get_by_role("tab", name="Documents").click()
        expect(page.locator("#document-rows")).to_contain_text("team-docs/guides/deep/glossary.txt")
        expect(page.locator("#document-rows")).to_contain_text("unreadable PDF")
        shot(page, "03-documents")

        page.get_by_role("tab", name="Ask").click()
        page.fill("#question", "How do we rotate the API keys?")
        page.keyboard.press("Enter")
        answer = page.locator(".message.assistant").last
        expect(answer.locator(".sources")).to_be_visible(timeout=60_000)
        expect(answer).to_contain_text("atlas keys rotate")
        expect(answer.locator(".sources")).to_contain_text("team-docs/handbook.md")
        expect(answer.locator("a.cite").first).to_be_visible()
        shot(page, "04-answer")

        answer.locator(".sources button").first.click()
        dialog = page.locator("#passage-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("mark").first).to_be_visible()
        expect(dialog).to_contain_text("atlas keys rotate")
        shot(page, "05-passage")
        dialog.get_by_role("button", name="Close").click()

        page.fill("#question", "How do I install Atlas on Linux?")
        page.keyboard.press("Enter")
        expect(page.locator(".message.assistant").nth(1).locator(".sources")).to_be_visible(timeout=60_000)
        page.fill("#question", "And on Windows?")
        page.keyboard.press("Enter")
        follow_up = page.locator(".message.assistant").nth(2)
        expect(follow_up.locator(".sources")).to_be_visible(timeout=60_000)
        expect(follow_up).to_contain_text("AtlasSetup.msi")
        shot(page, "06-follow-up")

        page.check("#search-only")
        page.fill("#question", "backup schedule")
        page.keyboard.press("Enter")
        expect(page.locator(".message.assistant").last.locator(".hit").first).to_contain_text("backup.adoc")
        page.uncheck("#search-only")
        shot(page, "07-search-only")

        page.select_option("#lang-select", "zh")
        expect(page.get_by_role("tab", name="提问")).to_be_visible()
        expect(page.locator("#collection-stats")).to_contain_text("个文档")
        shot(page, "08-chinese")
        page.close()


def test_errors_are_shown_not_swallowed(browser: Browser, tmp_path: Path) -> None:
    with stub_llm(fail_chat=True) as broken:  # up (it lists its models) but every answer fails
        settings = make_settings(
            tmp_path,
            api_keys="secret-key",
            max_upload_mb=0.01,
            llm_retries=0,
            allowed_backends="extractive,openai",
            openai_base_url=broken.url,
        )
        _errors_are_shown(browser, tmp_path, settings)


def test_only_usable_backends_are_offered(browser: Browser, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        allowed_backends="extractive,openai",
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",  # allowed, but nothing listens there
    )
    with running_server(settings) as base:
        page = browser.new_page(locale="en-US")
        page.goto(base)
        expect(page.locator("#backend option")).to_have_count(1)
        expect(page.locator("#backend option")).to_have_text(["extractive"])
        assert "not reachable" in (page.locator("#backend").get_attribute("title") or "")
        page.close()


def _errors_are_shown(browser: Browser, tmp_path: Path, settings: Settings) -> None:
    with running_server(settings) as base:
        page = browser.new_page(viewport={"width": 420, "height": 860}, locale="zh-CN", color_scheme="dark")
        page.goto(base)
        key_dialog = page.locator("#key-dialog")
        expect(key_dialog).to_be_visible()  # the server needs a key and none is stored
        shot(page, "09-key-needed-phone-dark")
        page.fill("#key-input", "wrong")
        key_dialog.get_by_role("button", name="保存").click()
        expect(page.locator("#banner")).to_contain_text("API 密钥")
        page.fill("#key-input", "secret-key")
        page.locator("#key-dialog").get_by_role("button", name="保存").click()
        page.fill("#new-name", "big")
        page.get_by_role("button", name="创建").click()
        expect(page.locator("#collection-title")).to_have_text("big")
        small = tmp_path / "small"
        small.mkdir()
        (small / "faq.md").write_text("# FAQ\n\nThe office opens at nine.\n")
        page.set_input_files("#folder-input", str(small))
        expect(page.locator("#upload-text")).to_contain_text("完成：", timeout=60_000)  # not "等待…完成" (queued)
        big = tmp_path / "big"
        big.mkdir()
        (big / "large.txt").write_text("x" * 50_000)
        page.set_input_files("#folder-input", str(big))
        expect(page.locator("#upload-text")).to_contain_text("太大", timeout=30_000)
        shot(page, "10-too-large")
        page.get_by_role("tab", name="提问").click()
        expect(page.locator("#backend option")).to_have_text(["extractive", "openai"])
        page.get_by_text("选项", exact=True).click()  # a phone's width: the options start folded
        page.select_option("#backend", "openai")
        page.fill("#question", "When does the office open?")
        page.keyboard.press("Enter")
        expect(page.locator(".message.assistant").last).to_contain_text("不可用", timeout=60_000)
        shot(page, "11-backend-down")
        page.close()
