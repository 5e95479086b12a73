"""Word .docx: paragraphs under their Heading styles, and tables as rows of cells."""

from __future__ import annotations

import io
import zipfile

import docx as python_docx

from ingest.types import LoadError, Section


def load(data: bytes, name: str) -> list[Section]:
    try:
        document = python_docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"unreadable .docx: {exc}") from exc
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in body):
            sections.append(Section(text="\n".join(body), heading_path=" > ".join(t for _, t in stack)))
        body.clear()

    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        text = paragraph.text.strip()
        level = _heading_level(style)
        if level is not None and text:
            flush()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
        elif text:
            body.append(text)
    for table in document.tables:
        for row in table.rows:
            body.append(" | ".join(cell.text.strip() for cell in row.cells))
    flush()
    return sections


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading"):
        suffix = style.removeprefix("Heading").strip()
        return int(suffix) if suffix.isdigit() else 1
    return None
