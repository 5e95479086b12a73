"""Office files, e-books, scans and images end to end: fixtures made by the real libraries (python-pptx,
openpyxl, python-docx, Pillow, fpdf2) and by LibreOffice itself (the .odt/.odp/.ods/.epub/.doc it writes),
ingested on real SQLite and PostgreSQL with the bundled models and the real RapidOCR, then searched."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from rag_service.db.models import Document
from rag_service.indexing import ingest_folder, load_options
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime
from tests.conftest import make_settings
from tests.office_files import (
    CJK_FONT,
    image_bytes,
    pptx_bytes,
    scanned_pdf_bytes,
    text_image,
    write,
    xlsx_bytes,
)

SLIDES = [
    (
        "Quarterly review",
        ["Revenue grew in every region", "Support costs fell"],
        "Mention the Oslo office opening in May.",
    ),
    ("Roadmap", ["Ship the v2 importer", "Retire the legacy sync"], ""),
]
REGIONS = [["Region", "Sales"], ["North", "120"], ["South", "80"]]
BUDGET = [["Item", "Cost", "Owner"]] + [[f"Service contract {n}", 100 + n, "Operations"] for n in range(300)]
BUDGET[250] = ["Quantum annealer rental", 48000, "Research"]
SCAN_LINES = ["Scanned invoice number 48213", "Total due: 1,250 EUR", "Payment is due before 3 March 2027"]
LOCATION_PAGE_TEXT = "This page has a real text layer. It describes the nightly backup of the ledger database."


def soffice(target: str, source: Path, outdir: Path) -> Path:
    """LibreOffice converts `source`, as a person saving it in another format would."""
    profile = (outdir / ".profile").as_uri()
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    converted = outdir / f"{source.stem}.{target.split(':')[0]}"
    assert converted.exists(), f"LibreOffice did not write {converted.name}"
    return converted


def report_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Disaster recovery", 1)
    document.add_paragraph("Backups are copied to the vault in Tromsø every night at two o'clock.")
    document.add_paragraph("Restore times by system:")
    table = document.add_table(rows=3, cols=2)
    table.style = "Table Grid"  # ruled, as most Word tables are: its PDF export draws the cell borders
    for r, row in enumerate([["System", "Restore time"], ["Ledger", "4 hours"], ["Wiki", "30 minutes"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(path))


@pytest.fixture(scope="module")
def office_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("office")
    write(root, "deck.pptx", pptx_bytes(SLIDES, table=REGIONS))
    write(root, "budget.xlsx", xlsx_bytes({"Budget": BUDGET, "Notes": [["Approved by the board on 12 May"]]}))
    report_docx(root / "report.docx")
    write(root, "scan.pdf", scanned_pdf_bytes([LOCATION_PAGE_TEXT, text_image(SCAN_LINES)]))
    # LibreOffice writes the OpenDocument, e-book, PDF and legacy files, as a team's own would be.
    made = root / ".made"
    made.mkdir()
    # A sheet with a formula, saved by LibreOffice: the cell holds the formula and the value it computed.
    write(made, "formulas.csv", b"Quarter,Licence spend\nQ1,1200\nQ2,1300\nYear to date,=SUM(B2:B3)\n")
    for target, source, name in [
        ("odt", "report.docx", "report.odt"),
        ("odp", "deck.pptx", "deck.odp"),
        ("ods", "budget.xlsx", "budget.ods"),
        ("epub", "report.docx", "report.epub"),
        ("doc", "report.docx", "legacy/report.doc"),
        ("pdf", "report.docx", "report.pdf"),
        ("xlsx", "formulas.csv", "totals.xlsx"),
    ]:
        converted = soffice(target, (made if source == "formulas.csv" else root) / source, made)
        (root / name).parent.mkdir(exist_ok=True)
        shutil.move(converted, root / name)
    shutil.rmtree(made)
    # Bad files: each a failure of its own with a reason, none stopping the rest.
    write(root, "bad/corrupt.pptx", b"PK\x03\x04 not really a presentation" * 20)
    write(root, "bad/locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    with zipfile.ZipFile(root / "bad" / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    write(root, "bad/tall.xlsx", xlsx_bytes({"Log": [["n", "event"]] + [[n, "tick"] for n in range(50_000)]}))
    from PIL import Image

    write(root, "bad/huge.png", image_bytes(Image.new("1", (20_000, 20_000), 1)))
    return root


BAD = {
    "bad/corrupt.pptx": "unreadable .pptx",
    "bad/locked.xlsx": "password-protected",
    "bad/bomb.xlsx": "RAG_MAX_UNPACKED_MB",
    "bad/tall.xlsx": "RAG_MAX_SHEET_ROWS",
    "bad/huge.png": "RAG_MAX_IMAGE_MEGAPIXELS",
}


def top(runtime: Runtime, query: str, path: str | None = None, collection: str = "office"):  # type: ignore[no-untyped-def]
    options = SearchOptions.from_settings(runtime, top_k=5, path_filter=path)
    hits = retrieve(runtime, collection, query, options)
    assert hits, query
    return hits[0]


def test_office_files_scans_and_their_failures(runtime: Runtime, office_folder: Path) -> None:
    steps: list[str] = []
    summary = ingest_folder(runtime, "office", office_folder, progress=lambda _, current: steps.append(current))
    assert summary.status == "done"
    failed = {f["path"]: f["reason"] for f in summary.failed}
    assert set(failed) == set(BAD), failed
    for path, words in BAD.items():
        assert words in failed[path], (path, failed[path])
    assert summary.added == 11
    assert "scan.pdf: OCR page 2 of 2" in steps  # the long step is shown while it runs

    # PowerPoint: speaker notes are found, cited as the slide.
    hit = top(runtime, "When does the Oslo office open?", path="deck.pptx")
    assert (hit.path, hit.page, hit.heading_path) == ("deck.pptx", 1, "Quarterly review")
    assert hit.location() == "deck.pptx slide 1" and hit.to_dict()["page_unit"] == "slide"
    table = top(runtime, "sales of the South region", path="deck.pptx")
    assert "| Region | Sales |" in table.text and "| South | 80 |" in table.text

    # Excel: a cell 250 rows down is found with the header row of its sheet.
    hit = top(runtime, "How much does the quantum annealer rental cost?", path="budget.xlsx")
    assert (hit.path, hit.page, hit.heading_path) == ("budget.xlsx", 1, "Budget")
    # Each row keeps its number in the sheet (the header is row 1), so an answer can name it.
    assert (
        hit.text.startswith("| Row | Item | Cost | Owner |")
        and "| 251 | Quantum annealer rental | 48000 | Research |" in hit.text
    )
    assert hit.location() == "budget.xlsx sheet 1"

    # Word: the table stands where it was, as a Markdown table under its heading.
    hit = top(runtime, "restore time of the ledger", path="report.docx")
    assert hit.heading_path == "Disaster recovery" and "| Ledger | 4 hours |" in hit.text

    # A ruled table in a PDF (LibreOffice's export of the same report) comes out as a Markdown table too.
    hit = top(runtime, "restore time of the ledger", path="report.pdf")
    assert "| Ledger | 4 hours |" in hit.text and "Tromsø" in hit.text

    # Formulas are read as the values saved with them.
    hit = top(runtime, "licence spend year to date", path="totals.xlsx")
    assert "| Year to date | 2500 |" in hit.text

    # The scanned page is read by OCR and keeps its page number; the text page beside it is read as text.
    hit = top(runtime, "invoice number 48213 total due")
    assert (hit.path, hit.page) == ("scan.pdf", 2) and "1,250 EUR" in hit.text
    assert top(runtime, "nightly backup of the ledger database", path="scan.pdf").page == 1

    # What LibreOffice wrote: OpenDocument text, slides and sheets, an EPUB, and a legacy .doc converted back.
    hit = top(runtime, "When does the Oslo office open?", path="deck.odp")
    assert (hit.page, hit.location()) == (1, "deck.odp slide 1") and "Oslo" in hit.text
    hit = top(runtime, "quantum annealer rental cost", path="budget.ods")
    assert hit.heading_path == "Budget" and "| 251 | Quantum annealer rental | 48000 | Research |" in hit.text
    assert hit.text.startswith("| Row | Item | Cost | Owner |")
    for path in ("report.odt", "report.epub", "legacy/report.doc"):
        hit = top(runtime, "Where are backups copied every night?", path=path)
        assert "Tromsø" in hit.text and "Disaster recovery" in hit.heading_path, path
    assert top(runtime, "backups copied", path="report.epub").location() == "report.epub chapter 1"
    with runtime.sessions() as session:
        types = {d.path: d.type for d in session.scalars(select(Document))}
    assert types["deck.pptx"] == "pptx" and types["budget.ods"] == "ods" and types["legacy/report.doc"] == "doc"


def test_a_chinese_line_in_an_image_is_found_by_a_chinese_question(sqlite_runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "zh"
    lines = ["备份服务器每九十天轮换一次密钥。", "报销申请须在出差结束后十五天内提交。"]
    write(folder, "白板照片.png", image_bytes(text_image(lines, font=CJK_FONT, size=40), "PNG"))
    write(folder, "部署说明.md", "# 部署\n\n服务运行在两台机器上，数据库每天凌晨备份。\n".encode())
    summary = ingest_folder(sqlite_runtime, "zh", folder, embedder="multilingual")
    assert summary.failed == [] and summary.added == 2
    hit = top(sqlite_runtime, "服务器的密钥多久轮换一次？", collection="zh")
    assert hit.path == "白板照片.png" and "九十天" in hit.text


def test_ocr_turned_off_fails_scans_with_the_setting_named(tmp_path: Path) -> None:
    runtime = Runtime(make_settings(tmp_path, ocr=False))
    folder = tmp_path / "docs"
    write(folder, "scan.pdf", scanned_pdf_bytes([text_image(SCAN_LINES)]))
    write(folder, "photo.jpg", image_bytes(text_image(SCAN_LINES), "JPEG"))
    write(folder, "mixed.pdf", scanned_pdf_bytes([LOCATION_PAGE_TEXT, text_image(SCAN_LINES)]))
    summary = ingest_folder(runtime, "plain", folder)
    failed = {f["path"]: f["reason"] for f in summary.failed}
    assert set(failed) == {"scan.pdf", "photo.jpg"} and all("RAG_OCR=false" in r for r in failed.values())
    hit = top(runtime, "nightly backup of the ledger", collection="plain")
    assert (hit.path, hit.page) == ("mixed.pdf", 1)  # the text page is read; the scanned one is not


def test_images_inside_text_pages_are_read_only_when_asked(sqlite_runtime: Runtime) -> None:
    from ingest.loaders import pdf

    screenshot = text_image(["Error 0x80070005: access denied"], width=1000)
    data = scanned_pdf_bytes([(LOCATION_PAGE_TEXT, screenshot)])
    defaults = load_options(sqlite_runtime.settings)
    (plain,) = pdf.load(data, "report.pdf", defaults)
    assert "nightly backup" in plain.text and "0x80070005" not in plain.text
    (read,) = pdf.load(data, "report.pdf", dataclasses.replace(defaults, ocr_pdf_images=True))
    assert "nightly backup" in read.text and "0x80070005" in read.text and read.page == 1


def test_legacy_office_without_libreoffice_names_what_to_install(sqlite_runtime: Runtime) -> None:
    from ingest.loaders import legacy_office
    from ingest.types import LoadError

    options = dataclasses.replace(load_options(sqlite_runtime.settings), converter="")
    with pytest.raises(LoadError, match="install Debian's libreoffice-calc-nogui"):
        legacy_office.load(b"\xd0\xcf\x11\xe0" + bytes(100), "old.xls", options)
