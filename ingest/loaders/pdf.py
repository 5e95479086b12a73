"""PDF: pypdf, page by page, each page a section with its page number."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.types import LoadError, Section


def load(data: bytes, name: str) -> list[Section]:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF: it needs a password")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if text.strip():
                sections.append(Section(text=text, page=number))
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    except Exception as exc:  # pypdf raises many types on damaged files; the file fails, the run goes on
        raise LoadError(f"unreadable PDF: {type(exc).__name__}: {exc}") from exc
    if not sections:
        raise LoadError("PDF has no extractable text (scanned images need OCR, which is not supported)")
    return sections
