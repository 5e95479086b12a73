"""Word .docx: paragraphs under their Heading styles, and tables as Markdown tables where they stand."""

from __future__ import annotations

import zipfile

import docx as python_docx
from docx.table import Table

from ingest.loaders.containers import checked
from ingest.loaders.headings import Outline
from ingest.loaders.tables import markdown_table
from ingest.types import LoadError, LoadOptions, Section


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    try:
        document = python_docx.Document(checked(data, ".docx", options))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"unreadable .docx: {exc}") from exc
    outline = Outline("\n")
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            table = markdown_table([cell.text for cell in row.cells] for row in block.rows)
            if table:
                outline.add(f"\n{table}\n")  # blank lines: a table is a block of its own in Markdown
            continue
        style = block.style.name if block.style is not None else ""
        text = block.text.strip()
        level = _heading_level(style)
        if level is not None and text:
            outline.heading(level, text)
        elif text:
            outline.add(text)
    return outline.finish()


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading"):
        suffix = style.removeprefix("Heading").strip()
        return int(suffix) if suffix.isdigit() else 1
    return None
