"""Units of the Office, table and OCR code: reading order, table splitting, container checks, page triage."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from time import monotonic as now

import pytest

from ingest.loaders import containers, image, spreadsheet
from ingest.loaders.pdf import _meaningful
from ingest.loaders.tables import markdown_table
from ingest.ocr import Line, join_lines, reading_order
from ingest.split import split_sections
from ingest.types import LoadError, Section
from rag_service.indexing import load_options
from rag_service.settings import Settings

DEFAULTS = load_options(Settings(_env_file=None))  # type: ignore[call-arg]


def words(text: str) -> int:
    return len(text.split())


def test_reading_order_keeps_columns_under_a_full_width_title() -> None:
    title = Line(50, 10, 950, 40, "Annual report")
    left = [Line(50, 60 + 30 * i, 450, 80 + 30 * i, f"left {i}") for i in range(4)]
    right = [Line(550, 60 + 30 * i, 950, 80 + 30 * i, f"right {i}") for i in range(4)]
    footer = Line(50, 220, 950, 240, "Page 1")
    ordered = [line.text for line in reading_order([footer, *right, title, *reversed(left)])]
    assert ordered == ["Annual report", *(f"left {i}" for i in range(4)), *(f"right {i}" for i in range(4)), "Page 1"]


def test_boxes_on_one_line_join_with_a_space_and_paragraph_gaps_with_a_blank_line() -> None:
    lines = [
        Line(0, 0, 100, 20, "Total"),
        Line(110, 2, 200, 21, "due"),
        Line(0, 30, 100, 50, "next"),
        Line(0, 100, 100, 120, "later"),
    ]
    assert join_lines(lines) == "Total due\nnext\n\nlater"


def test_a_table_that_fits_is_one_chunk_with_its_caption() -> None:
    table = markdown_table([["Name", "Port"], ["web", "80"], ["db", "5432"]])
    prose = " ".join(["word"] * 150)
    text = f"{prose}\n\nPorts in use:\n\n{table}\n\nAfter the table."
    chunks = split_sections([Section(text=text, start_line=1)], words, 160, 0, 256)
    with_table = [c for c in chunks if "| Name | Port |" in c.text]
    assert len(with_table) == 1 and with_table[0].text.startswith("Ports in use:")
    assert "| db | 5432 |" in with_table[0].text
    assert with_table[0].start_line == 3 and with_table[0].end_line == 8


def test_a_long_table_is_cut_between_rows_and_every_piece_has_the_header() -> None:
    table = markdown_table([["Host", "Role"], *([f"host{n}", "worker"] for n in range(200))])
    chunks = split_sections([Section(text=table, heading_path="Sheet1", page=1)], words, 60, 10, 256)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.startswith("| Host | Role |\n| --- | --- |\n")
        assert words(chunk.text) <= 60
    rows = [line for chunk in chunks for line in chunk.text.splitlines()[2:]]
    assert rows == [f"| host{n} | worker |" for n in range(200)]  # every row once, in order, no overlap


def test_a_table_in_a_code_block_is_code() -> None:
    text = "Intro " * 100 + "\n\n```\n| a | b |\n| --- | --- |\n| 1 | 2 |\n```\n\n" + "Outro " * 100
    chunks = split_sections([Section(text=text)], words, 80, 0, 256)
    assert any("```\n| a | b |" in c.text for c in chunks)


def test_cells_keep_their_pipes_and_lose_their_line_breaks() -> None:
    assert markdown_table([["Expr", "Meaning"], ["a|b", "either\nof them"], ["", ""]]) == (
        "| Expr | Meaning |\n| --- | --- |\n| a\\|b | either of them |"
    )


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_containers_refuse_bombs_encryption_and_non_zips() -> None:
    options = dataclasses.replace(DEFAULTS, max_unpacked_bytes=64 * 1024 * 1024, max_unpacked_ratio=100)
    with pytest.raises(LoadError, match="RAG_MAX_ARCHIVE_RATIO"):
        containers.open_zip(zipped({"a.xml": b"\0" * (8 * 1024 * 1024)}), ".xlsx", options)
    with pytest.raises(LoadError, match="RAG_MAX_UNPACKED_MB"):
        containers.open_zip(zipped({"a.xml": b"\0" * (65 * 1024 * 1024)}), ".xlsx", options)
    with pytest.raises(LoadError, match="password-protected"):
        containers.open_zip(containers.OLE_MAGIC + bytes(512), ".docx", options)
    with pytest.raises(LoadError, match="not a valid zip"):
        containers.open_zip(b"just text", ".pptx", options)
    assert containers.open_zip(zipped({"a.xml": b"<a/>"}), ".docx", options).namelist() == ["a.xml"]


def test_sheet_values_read_as_a_person_sees_them() -> None:
    import datetime as dt

    assert spreadsheet._value(12000.0) == "12000" and spreadsheet._value(3400.5) == "3400.5"
    assert spreadsheet._value(dt.datetime(2027, 3, 3)) == "2027-03-03"
    assert spreadsheet._value(dt.datetime(2027, 3, 3, 9, 30)) == "2027-03-03 09:30:00"
    assert spreadsheet._value(None) == "" and spreadsheet._value(True) == "True"


def test_pages_that_need_ocr() -> None:
    assert not _meaningful("")
    assert not _meaningful("  3  ")  # a page number over a scanned image
    assert not _meaningful("\ufffd\ufffd\ufffd\ufffd abcdefghijklmnopqrstuvw \ufffd\ufffd\ufffd\ufffd")
    assert not _meaningful("%$#@!%$#@!%$#@!%$#@!%$#@! ab")  # glyphs without a Unicode mapping
    assert _meaningful("Chapter 2: Installing the service on Debian")


def test_a_loader_past_its_time_limit_stops_with_the_setting_named() -> None:
    options = dataclasses.replace(DEFAULTS, seconds=0.0, started=0.0)
    with pytest.raises(LoadError, match="RAG_MAX_FILE_SECONDS"):
        options.check_time("reading page 3 by OCR")


def test_neighbouring_table_chunks_join_into_one_table() -> None:
    from rag_service.retrieval import join_overlapping

    first = "| Host | Role |\n| --- | --- |\n| a | web |"
    second = "| Host | Role |\n| --- | --- |\n| b | db |"
    assert join_overlapping(first, second) == "| Host | Role |\n| --- | --- |\n| a | web |\n| b | db |"
    other = "| Name | Port |\n| --- | --- |\n| web | 80 |"  # a different table keeps its own header
    assert join_overlapping(first, other) == first + "\n" + other


def test_a_table_row_with_the_questions_terms_is_evidence() -> None:
    from rag_service.answering.evidence import row_coverage
    from rag_service.answering.terms import content_terms
    from rag_service.retrieval import Hit

    weights = {term: 1.0 for term in content_terms("What does the quantum annealer rental cost?")}
    for text in (
        "Budget lines:\n| Item | Cost |\n| --- | --- |\n| Laptops | 900 |\n| Quantum annealer rental | 48000 |",
        "Item| Cost\n---|---\nLaptops| 900\nQuantum annealer rental| 48000",  # html2text's pipe style
    ):
        sheet = Hit(rank=1, score=1.0, path="b.xlsx", text=text, chunk_id=1, document_id=1)
        assert row_coverage(weights, [sheet]) == 1
    text = "The quantum annealer rental cost is high."
    prose = Hit(rank=1, score=1.0, path="a.md", text=text, chunk_id=2, document_id=1)
    assert row_coverage(weights, [prose]) == 0  # prose is judged by the dense score as before


def test_an_unreadable_image_is_named_and_explained_never_shown_as_a_repr() -> None:
    """Issue 25: the reason was Pillow's "cannot identify image file <_io.BytesIO object at 0x...>"."""
    pytest.importorskip("PIL")
    with pytest.raises(LoadError) as not_an_image:
        image.load(b"plain text, not pixels\n", "scans/receipt.png", dataclasses.replace(DEFAULTS, started=now()))
    assert str(not_an_image.value) == (
        "scans/receipt.png: not an image Pillow can read (unknown format or damaged header)"
    )
    # A real header with its body cut off fails later, in decoding: still named, still no repr.
    from PIL import Image

    whole = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(whole, "PNG")
    with pytest.raises(LoadError) as truncated:
        # options made now: their time limit counts from when a file's reading starts, not from the module's import
        image.load(whole.getvalue()[:60], "scans/cut.png", dataclasses.replace(DEFAULTS, started=now()))
    assert str(truncated.value).startswith("scans/cut.png: unreadable image (")
    assert "object at 0x" not in str(truncated.value)
