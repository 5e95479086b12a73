"""OpenDocument .odt, .odp and .ods (LibreOffice's own formats), read from the container's content.xml.

Text documents keep their headings as the heading path and their tables as Markdown; presentations are one section
per slide ("slide N", its title as heading, speaker notes under "Notes:"); spreadsheets one section per sheet
("sheet N", as .xlsx). A small reader of our own rather than odfdo: real spreadsheets end in rows and cells marked
"repeated a million times", which a library that expands them turns into gigabytes; here an empty repeat costs
nothing and a full one counts against RAG_MAX_SHEET_ROWS.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

from ingest.loaders.containers import open_zip
from ingest.loaders.headings import Outline
from ingest.loaders.tables import markdown_table, sheet_table
from ingest.types import LoadError, LoadOptions, Section

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
}
MAX_COLUMNS = 1024


def _tag(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    kind = "." + name.rsplit(".", 1)[-1].lower()
    archive = open_zip(data, kind, options)
    try:
        root = ET.fromstring(archive.read("content.xml"))
    except KeyError as exc:
        raise LoadError(f"unreadable {kind}: no content.xml in the container") from exc
    except ET.ParseError as exc:
        raise LoadError(f"unreadable {kind}: {exc}") from exc
    body = root.find("office:body", NS)
    if body is None:
        raise LoadError(f"unreadable {kind}: no document body")
    if (text := body.find("office:text", NS)) is not None:
        return _text_document(text)
    if (slides := body.find("office:presentation", NS)) is not None:
        return _presentation(slides)
    if (sheets := body.find("office:spreadsheet", NS)) is not None:
        return _spreadsheet(sheets, options)
    raise LoadError(f"unsupported {kind}: the document is neither text, presentation nor spreadsheet")


def inline_text(element: ET.Element) -> str:
    """An element's text as displayed: text:s is spaces, text:tab a tab, text:line-break a newline."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == _tag("text", "s"):
            parts.append(" " * int(child.get(_tag("text", "c"), "1")))
        elif child.tag == _tag("text", "tab"):
            parts.append("\t")
        elif child.tag == _tag("text", "line-break"):
            parts.append("\n")
        elif child.tag == _tag("text", "p"):
            parts.append("\n" + inline_text(child))  # a paragraph inside a frame inside a paragraph
        else:
            parts.append(inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts).strip()


def _text_document(text: ET.Element) -> list[Section]:
    outline = Outline("\n\n")
    for kind, level, content in _blocks(text):
        if kind == "heading":
            outline.heading(level, content)
        else:
            outline.add(content)
    return outline.finish()


def _blocks(container: ET.Element, bullet: str = "") -> Iterator[tuple[str, int, str]]:
    """("heading", level, text) and ("text", 0, text) in document order."""
    for child in container:
        if child.tag == _tag("text", "h"):
            heading = " ".join(inline_text(child).split())
            if heading:
                yield "heading", int(child.get(_tag("text", "outline-level"), "1")), heading
        elif child.tag == _tag("text", "p"):
            if paragraph := inline_text(child):
                yield "text", 0, bullet + paragraph
        elif child.tag == _tag("text", "list"):
            for item in child:
                yield from _blocks(item, "- ")
        elif child.tag == _tag("table", "table"):
            if table := markdown_table(cells for _, cells in _table_rows(child, limit=None)):
                yield "text", 0, table
        elif child.tag in (_tag("text", "table-of-content"), _tag("text", "alphabetical-index")):
            continue  # generated from the headings and terms the body already holds
        else:
            yield from _blocks(child, bullet)  # sections, frames and other containers


def _presentation(presentation: ET.Element) -> list[Section]:
    sections = []
    for number, page in enumerate(presentation.iter(_tag("draw", "page")), start=1):
        title, parts, notes = "", [], ""
        for frame in page:
            if frame.tag == _tag("presentation", "notes"):
                notes = "\n".join(inline_text(p) for p in frame.iter(_tag("text", "p")) if inline_text(p))
                continue
            text = "\n\n".join(content for _, _, content in _blocks(frame))
            if frame.get(_tag("presentation", "class")) == "title" and not title:
                title = " ".join(text.split())
            elif text:
                parts.append(text)
        if notes:
            parts.append("Notes: " + notes)
        if title or parts:
            heading = title or page.get(_tag("draw", "name")) or f"Slide {number}"
            sections.append(Section(text="\n\n".join(parts) or title, page=number, heading_path=heading))
    return sections


def _spreadsheet(spreadsheet: ET.Element, options: LoadOptions) -> list[Section]:
    sections = []
    for number, sheet in enumerate(spreadsheet.iter(_tag("table", "table")), start=1):
        name = sheet.get(_tag("table", "name")) or f"Sheet{number}"
        if table := sheet_table(_table_rows(sheet, limit=options.max_sheet_rows, sheet_name=name)):
            sections.append(Section(text=table, page=number, heading_path=name))
    return sections


def _table_rows(table: ET.Element, limit: int | None, sheet_name: str = "") -> list[tuple[int, list[str]]]:
    """The table's rows with content, each with its row number (repeated and empty rows counted, as a
    spreadsheet numbers them)."""
    rows: list[tuple[int, list[str]]] = []
    position = 0  # the row number of the last row read
    for row in table.iter(_tag("table", "table-row")):
        times = int(row.get(_tag("table", "number-rows-repeated"), "1"))
        position += times
        cells: list[str] = []
        for cell in row:
            repeat = min(int(cell.get(_tag("table", "number-columns-repeated"), "1")), MAX_COLUMNS)
            value = "\n".join(inline_text(p) for p in cell.iter(_tag("text", "p")))
            cells.extend([value] * (repeat if value else min(repeat, MAX_COLUMNS - len(cells))))
            if len(cells) >= MAX_COLUMNS:
                break
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue  # empty rows, however often repeated, add nothing
        if limit is not None and len(rows) + times > limit:
            raise LoadError(f"sheet {sheet_name!r} has more than {limit} rows (RAG_MAX_SHEET_ROWS)")
        rows.extend((number, cells) for number in range(position - times + 1, position + 1))
    return rows
