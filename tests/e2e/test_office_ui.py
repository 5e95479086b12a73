"""A folder of slides, a spreadsheet and a scan uploaded in the web UI (real Chromium): answers cite the slide,
the sheet and the scanned page, and the passage dialog says which. Screenshots go to test-artifacts/office/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import make_settings
from tests.e2e.test_answers_ui import ask
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import running_server
from tests.integration.test_office_and_ocr import BUDGET, LOCATION_PAGE_TEXT, REGIONS, SCAN_LINES, SLIDES
from tests.office_files import pptx_bytes, scanned_pdf_bytes, text_image, write, xlsx_bytes

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "office"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_slides_sheets_and_scans_are_cited_where_they_stand(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "quarterly"
    write(folder, "deck.pptx", pptx_bytes(SLIDES, table=REGIONS))
    write(folder, "budget.xlsx", xlsx_bytes({"Budget": BUDGET}))
    write(folder, "scan.pdf", scanned_pdf_bytes([LOCATION_PAGE_TEXT, text_image(SCAN_LINES)]))
    with running_server(make_settings(tmp_path)) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        page.goto(base)
        page.fill("#new-name", "quarterly")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#collection-title")).to_have_text("quarterly")
        page.set_input_files("#folder-input", str(folder))
        expect(page.locator("#upload-text")).to_contain_text("Done: 3 added", timeout=180_000)
        page.get_by_role("tab", name="Ask").click()

        slide = ask(page, "When does the Oslo office open?", 0)
        expect(slide).to_contain_text("Oslo office opening in May")
        expect(slide.locator(".sources")).to_contain_text("deck.pptx · Quarterly review · slide 1")
        slide.locator(".sources button").first.click()
        dialog = page.locator("#passage-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#passage-title")).to_contain_text("slide 1")
        shot(page, "1-slide-notes")
        dialog.get_by_role("button", name="Close").click()

        sheet = ask(page, "How much does the quantum annealer rental cost?", 1)
        expect(sheet).to_contain_text("48000")
        expect(sheet.locator(".sources")).to_contain_text("budget.xlsx · Budget · sheet 1")
        shot(page, "2-sheet-cell")

        scan = ask(page, "What is the total due on invoice 48213?", 2)
        expect(scan).to_contain_text("1,250 EUR")
        expect(scan.locator(".sources")).to_contain_text("scan.pdf · page 2")
        shot(page, "3-scanned-page")
        page.close()
