"""PDF: pypdf, page by page, each page a section with its page number; ruled tables as Markdown tables; pages
without a text layer through OCR.

A page is read from its text layer first. A page whose content draws enough lines or rectangles to hold a ruled
table is read again by pdfplumber, which finds the table's cells: the table comes out as a Markdown table where
it stands, the text around it as lines (pdfplumber is ten times slower than pypdf, hence only those pages; tables
without rules read as text). Only a page whose text is empty or garbage (a scan, a text layer of unmapped glyphs)
and that holds an image is rendered (pypdfium2) and read by OCR (ingest/ocr.py); its text keeps its page number.
Images inside pages that do have text are read too only where RAG_OCR_PDF_IMAGES is on.
"""

from __future__ import annotations

import io
import logging
import re
import threading

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest import ocr
from ingest.loaders.tables import markdown_table
from ingest.types import LoadError, LoadOptions, Section

OCR_DPI = 200
MIN_TEXT_CHARS = 16  # fewer letters and digits than this on a page with an image: read it by OCR
MIN_IMAGE_SIDE = 64  # embedded images smaller than this are rules, bullets and logos
MIN_RULES = 6  # path operators (lines, rectangles) on a page before it is searched for a ruled table
_RULE = re.compile(rb"(?<![A-Za-z])(re|l)(?![A-Za-z])")
_pdfium_lock = threading.Lock()  # pdfium is not thread-safe
log = logging.getLogger(__name__)


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: it needs a password")
        texts = [page.extract_text() or "" for page in reader.pages]
        ruled = [n for n, page in enumerate(reader.pages) if texts[n].strip() and _draws_rules(page)]
        if ruled:
            try:
                _read_tables(data, ruled, texts, options)
            except LoadError:
                raise
            except Exception:  # pdfplumber failing on a file pypdf read: keep pypdf's text, tables as lines
                log.warning("%s: the table pass failed; its tables are read as text", name, exc_info=True)
        scanned = [n for n, (page, text) in enumerate(zip(reader.pages, texts, strict=True)) if needs_ocr(text, page)]
        if options.ocr:
            if scanned:
                _read_scanned(data, scanned, texts, options)
            if options.ocr_pdf_images:
                for index, page in enumerate(reader.pages):
                    if index not in scanned:
                        options.check_time(f"reading the images of page {index + 1}")
                        texts[index] = "\n\n".join([texts[index], *_ocr_images(page)])
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises many types on damaged files; the file fails, the run goes on
        raise LoadError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    sections = [Section(text=text, page=number) for number, text in enumerate(texts, start=1) if text.strip()]
    if not sections:
        if scanned and not options.ocr:
            raise LoadError("PDF has no text layer, and OCR is turned off (RAG_OCR=false)")
        raise LoadError("PDF has no extractable text" + (" (OCR found none either)" if scanned else ""))
    return sections


def needs_ocr(text: str, page: object) -> bool:
    """Empty or garbage text on a page that has an image to read."""
    if _meaningful(text):
        return False
    try:
        return len(page.images) > 0  # type: ignore[attr-defined]
    except Exception:  # an image pypdf cannot list: let the renderer decide
        return True


def _meaningful(text: str) -> bool:
    visible = [char for char in text if not char.isspace()]
    if not visible:
        return False
    readable = sum(char.isalnum() for char in visible)
    if "\ufffd" in text and text.count("\ufffd") > len(visible) / 10:
        return False
    return readable >= MIN_TEXT_CHARS and readable >= len(visible) / 2


def _draws_rules(page: object) -> bool:
    try:
        contents = page.get_contents()  # type: ignore[attr-defined]
    except Exception:  # a content stream pypdf cannot decode: the text it gave stands
        return False
    return contents is not None and len(_RULE.findall(contents.get_data())) >= MIN_RULES


def _read_tables(data: bytes, ruled: list[int], texts: list[str], options: LoadOptions) -> None:
    """Pages of `ruled` that hold tables: the text read again, the tables as Markdown where they stand."""
    import pdfplumber  # on first use: pdfminer takes long to import, and most PDFs never need it

    with pdfplumber.open(io.BytesIO(data)) as document:
        for index in ruled:
            options.check_time(f"finding the tables of page {index + 1}")
            page = document.pages[index]
            tables = [table for table in page.find_tables() if len(table.rows) > 1]
            if not tables:
                continue
            boxes = [table.bbox for table in tables]

            def outside(item: dict, boxes: list[tuple[float, float, float, float]] = boxes) -> bool:
                if item.get("object_type") != "char":
                    return True
                x, y = (item["x0"] + item["x1"]) / 2, (item["top"] + item["bottom"]) / 2
                return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

            blocks = [(line["top"], line["text"]) for line in page.filter(outside).extract_text_lines()]
            blocks += [(table.bbox[1], f"\n{markdown_table(table.extract())}\n") for table in tables]
            texts[index] = "\n".join(text for _, text in sorted(blocks, key=lambda block: block[0])).strip()


def _read_scanned(data: bytes, scanned: list[int], texts: list[str], options: LoadOptions) -> None:
    """Render each page of `scanned` and put its OCR text in `texts`, where OCR read more than the text layer."""
    try:
        import pypdfium2
    except ImportError as exc:
        raise LoadError(f"a page without text {ocr.NOT_INSTALLED}") from exc
    with _pdfium_lock:
        document = pypdfium2.PdfDocument(data)
        try:
            for done, index in enumerate(scanned):
                options.check_time(f"reading page {index + 1} by OCR ({done} of {len(scanned)} pages done)")
                options.report(f"OCR page {index + 1} of {len(texts)}")
                page = document[index]
                width, height = page.get_size()
                scale = min(OCR_DPI / 72, (options.max_image_pixels / max(width * height, 1.0)) ** 0.5)
                read = ocr.recognise(page.render(scale=scale).to_pil())
                if len(read.strip()) > len(texts[index].strip()):
                    texts[index] = read
        finally:
            document.close()


def _ocr_images(page: object) -> list[str]:
    texts = []
    for picture in page.images:  # type: ignore[attr-defined]
        image = picture.image
        if image is not None and min(image.size) >= MIN_IMAGE_SIDE:
            text = ocr.recognise(image)
            if text.strip():
                texts.append(text)
    return texts
