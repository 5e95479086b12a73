"""Tables as Markdown, the one form every loader gives them in: the splitter keeps a table whole where it fits
and repeats its header row in each piece where it does not (ingest/split.py). A spreadsheet's sheet is led by a
"Row" column holding each row's number in the sheet, so that a passage (and an answer quoting it) says which row
a value is on as the spreadsheet shows it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

ROW_HEADER = "Row"  # the first column of a sheet's table: the row numbers

# The delimiter row under a table's header: dashes, optional colons, and at least one pipe (with or without the
# outer pipes). A bare "----" is a setext heading or an AsciiDoc listing, not a table.
DELIMITER = r"[ \t]*(?=[^\n]*\|)\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*"
DELIMITER_ROW = re.compile(rf"^{DELIMITER}$")


def cell_text(value: object) -> str:
    """A cell on one line, its pipes escaped so they do not split the cell."""
    if value is None:
        return ""
    text = str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(rows: Iterable[Sequence[object]]) -> str:
    """The first row is the header. Rows are padded to the widest; a table of empty cells is ""."""
    lines = [[cell_text(cell) for cell in row] for row in rows]
    lines = [row for row in lines if any(row)]
    if not lines:
        return ""
    width = max(len(row) for row in lines)
    while width > 1 and not any(len(row) >= width and row[width - 1] for row in lines):
        width -= 1  # columns empty all the way down
    padded = [(row + [""] * width)[:width] for row in lines]
    header, body = padded[0], padded[1:]
    return "\n".join([markdown_row(header), markdown_row(["---"] * width), *(markdown_row(row) for row in body)])


def sheet_table(rows: Iterable[tuple[int, Sequence[object]]]) -> str:
    """A sheet's rows, each with its number in the sheet, as a Markdown table led by the "Row" column; the first
    row with content is the header. Empty rows are left out (their numbers say they were there)."""
    kept = [(number, [cell_text(cell) for cell in cells]) for number, cells in rows]
    kept = [(number, cells) for number, cells in kept if any(cells)]
    return markdown_table(
        [[ROW_HEADER if index == 0 else str(number), *cells] for index, (number, cells) in enumerate(kept)]
    )
