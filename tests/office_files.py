"""Office files, scans and images made with the real libraries (python-pptx, openpyxl, Pillow, fpdf2), for the
loader tests: nothing here is a hand-written imitation of a format."""

from __future__ import annotations

import io
from pathlib import Path

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def pptx_bytes(slides: list[tuple[str, list[str], str]], table: list[list[str]] | None = None) -> bytes:
    """(title, bullet lines, speaker notes) per slide; `table` goes on the last slide."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for title, lines, notes in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = lines[0] if lines else ""
        for line in lines[1:]:
            body.add_paragraph().text = line
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    if table:
        slide = presentation.slides[-1]
        shape = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(4), Inches(6), Inches(2))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                shape.table.cell(r, c).text = value
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def text_image(lines: list[str], font: str = LATIN_FONT, size: int = 34, width: int = 1600, columns: int = 1):
    """A white page with black text, like a scan at about 200 dpi; `columns` lays the lines out in columns."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(font, size)
    per_column = -(-len(lines) // columns)
    height = 120 + per_column * int(size * 1.8)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    column_width = (width - 120) // columns
    for i, line in enumerate(lines):
        column, row = divmod(i, per_column)
        draw.text((60 + column * column_width, 60 + row * int(size * 1.8)), line, font=face, fill="black")
    return image


def image_bytes(image, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind)
    return out.getvalue()


def scanned_pdf_bytes(pages: list[object]) -> bytes:
    """A PDF whose pages are images (a scan, no text layer), a str (a page with a real text layer), or a
    (str, image) pair: text with a picture under it, as in a report with a screenshot."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("dejavu", fname=LATIN_FONT)
    for page in pages:
        pdf.add_page()
        text, image = (page, None) if isinstance(page, str) else page if isinstance(page, tuple) else (None, page)
        if text is not None:
            pdf.set_font("dejavu", size=12)
            pdf.multi_cell(0, 16, text)
        if image is not None:
            top = pdf.get_y() + 20 if text is not None else 0
            pdf.image(io.BytesIO(image_bytes(image)), x=0, y=top, w=pdf.w if text is None else pdf.w * 0.8)
    return bytes(pdf.output())


def write(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
