"""The values that flow through ingest: sections from loaders, chunks from the splitter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A run of text from one place in a file: a page, or the body under one heading."""

    text: str
    page: int | None = None  # 1-based: a PDF page, a slide, a sheet, an EPUB chapter (the loader's page unit)
    start_line: int | None = None  # 1-based line of the text's first character, line-based formats
    heading_path: str = ""  # "Install > Linux"


@dataclass(frozen=True)
class TextChunk:
    text: str
    ordinal: int
    page: int | None
    start_line: int | None
    end_line: int | None
    heading_path: str

    @property
    def embedding_text(self) -> str:
        return embedding_text(self.heading_path, self.text)


def embedding_text(heading_path: str, text: str) -> str:
    """What gets embedded and indexed: the heading path gives a passage its context."""
    return f"{heading_path}\n{text}" if heading_path else text


@dataclass(frozen=True)
class LoadOptions:
    """What a loader may spend on one file, and where it reports a long step. Made from the settings by
    `rag_service.indexing.load_options`, where every default lives."""

    ocr: bool  # pages without a text layer and image files
    ocr_pdf_images: bool  # images inside PDF pages that do have text
    max_image_pixels: int
    max_sheet_rows: int
    max_unpacked_bytes: int  # a zip container's (docx, pptx, xlsx, epub, odf) expanded parts
    max_unpacked_ratio: float
    converter: str  # LibreOffice, for legacy .doc/.ppt/.xls; "" turns the conversion off
    seconds: float
    progress: Callable[[str], None] | None = None  # "OCR page 3 of 40"
    started: float = field(default_factory=time.monotonic)

    def report(self, step: str) -> None:
        if self.progress is not None:
            self.progress(step)

    def check_time(self, doing: str) -> None:
        """A loader's long loop calls this, so that one file cannot hold the ingest past the time limit."""
        if time.monotonic() - self.started > self.seconds:
            raise LoadError(f"over the time limit of {self.seconds:g} s (RAG_MAX_FILE_SECONDS) while {doing}")


class LoadError(Exception):
    """A file that cannot be read as its type claims; the ingest records it and goes on."""
