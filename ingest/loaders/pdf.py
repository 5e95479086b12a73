"""PDF: pypdf, page by page, each page a section with its page number; pages without a text layer through OCR.

A page is read from its text layer first. Only a page whose text is empty or garbage (a scan, a text layer of
unmapped glyphs) and that holds an image is rendered (pypdfium2) and read by OCR (ingest/ocr.py); its text keeps
its page number. Images inside pages that do have text are read too only where RAG_OCR_PDF_IMAGES is on.
"""

from __future__ import annotations

import io
import threading

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest import ocr
from ingest.types import LoadError, LoadOptions, Section

OCR_DPI = 200
MIN_TEXT_CHARS = 16  # fewer letters and digits than this on a page with an image: read it by OCR
MIN_IMAGE_SIDE = 64  # embedded images smaller than this are rules, bullets and logos
_pdfium_lock = threading.Lock()  # pdfium is not thread-safe


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: it needs a password")
        texts = [page.extract_text() or "" for page in reader.pages]
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


def _read_scanned(data: bytes, scanned: list[int], texts: list[str], options: LoadOptions) -> None:
    """Render each page of `scanned` and put its OCR text in `texts`, where OCR read more than the text layer."""
    try:
        import pypdfium2
    except ImportError as exc:
        raise LoadError(
            "a page without text needs OCR, which is not installed: pip install 'rag-service[ocr]'"
        ) from exc
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
