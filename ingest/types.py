"""The values that flow through ingest: sections from loaders, chunks from the splitter."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of text from one place in a file: a page, or the body under one heading."""

    text: str
    page: int | None = None  # 1-based, PDFs
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


class LoadError(Exception):
    """A file that cannot be read as its type claims; the ingest records it and goes on."""
