"""PowerPoint .pptx: one section per slide, titled by the slide's title, cited as "slide N".

A slide's text frames are read top to bottom, then left to right; tables come out as Markdown tables, grouped
shapes are opened, and the speaker notes follow under "Notes:", since they often hold what the slide only hints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.exc import PackageNotFoundError

from ingest.loaders.containers import checked
from ingest.loaders.tables import markdown_table
from ingest.types import LoadError, LoadOptions, Section


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    try:
        presentation = Presentation(checked(data, ".pptx", options))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise LoadError(f"unreadable .pptx: {exc}") from exc
    sections = []
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        parts = [text for shape in _in_reading_order(slide.shapes) if shape != title_shape for text in _texts(shape)]
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                parts.append("Notes: " + notes.text.strip())
        if title or parts:
            body = "\n\n".join(parts) if parts else title
            sections.append(Section(text=body, page=number, heading_path=title or f"Slide {number}"))
    return sections


def _in_reading_order(shapes: Iterable[Any]) -> list[Any]:
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def _texts(shape: Any) -> Iterator[str]:
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for inner in _in_reading_order(shape.shapes):
            yield from _texts(inner)
    elif getattr(shape, "has_table", False) and shape.has_table:
        table = markdown_table([cell.text for cell in row.cells] for row in shape.table.rows)
        if table:
            yield table
    elif shape.has_text_frame and shape.text_frame.text.strip():
        yield "\n".join(paragraph.text for paragraph in shape.text_frame.paragraphs if paragraph.text.strip())
