"""An answer from a spreadsheet passage, read as a person reads a sheet: the row (or the few rows) the question's
terms pick out, named by its sheet and row number, with the columns that hold what is asked:
"Sheet Prices, row 4: Plan = Team, Price = 12 EUR". Quoted like prose, a sheet's passage is its whole table,
and the asked value is lost in it.

The row number is the sheet's own, from the "Row" column the spreadsheet loaders lead each table with
(ingest/loaders/tables.sheet_table); a sheet indexed before that column existed is answered without it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ingest.loaders import page_unit
from ingest.loaders.tables import DELIMITER_ROW, ROW_HEADER
from rag_service.answering.terms import content_terms
from rag_service.passages import Hit

MAX_ROWS = 3  # rows that match the question equally well, stated together; more is a table, not an answer
_CELL_BREAK = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class SheetAnswer:
    text: str  # "Sheet Prices, row 4: Plan = Team, Price = 12 EUR"
    covered: frozenset[str]  # the question's terms it holds, with the headers and sheet name it names
    coverage: float  # their share of the question's weight


def is_sheet(hit: Hit) -> bool:
    return hit.page is not None and page_unit(hit.path) == "sheet"


def split_cells(line: str) -> list[str]:
    """A Markdown table row's cells, unescaped ("a \\| b" is one cell)."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _CELL_BREAK.split(inner)]


def table_rows(text: str) -> list[tuple[list[str], list[str]]]:
    """(header, cells) of each body row of the passage's Markdown tables. The header a long sheet repeats in each
    of its chunks (ingest/split.py) is read as the header again wherever it stands, never as a row."""
    rows: list[tuple[list[str], list[str]]] = []
    header: list[str] | None = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "|" not in line:
            header = None  # the table ended
        elif DELIMITER_ROW.match(line):
            continue
        elif i + 1 < len(lines) and DELIMITER_ROW.match(lines[i + 1]):
            header = split_cells(line)
        elif header is not None:
            rows.append((header, split_cells(line)))
    return rows


def _column_name(header: list[str], index: int, offset: int) -> str:
    """The column's header, or its letter where it has none (A for the sheet's first column)."""
    name = header[index] if index < len(header) else ""
    if name:
        return name
    letters, number = "", index - offset + 1
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"column {letters}"


def sheet_answer(hit: Hit, weights: dict[str, float], said_before: set[str] | None = None) -> SheetAnswer | None:
    """The rows of a sheet passage that hold the most of the question's weighted terms (None when no row holds
    any: the question is about the sheet as a whole, and the passage is quoted as it is)."""
    total = math.fsum(weights.values())
    if total <= 0:
        return None

    def coverage(terms: set[str]) -> float:
        return math.fsum(weights.get(t, 0.0) for t in terms) / total

    scored: list[tuple[float, str, set[str]]] = []
    for header, cells in table_rows(hit.text):
        numbered = bool(header) and header[0] == ROW_HEADER and bool(cells) and cells[0].isdigit()
        offset = 1 if numbered else 0
        columns = range(offset, len(cells))
        cell_terms = {j: set(content_terms(cells[j])) & weights.keys() for j in columns if cells[j]}
        matched = set().union(*cell_terms.values()) if cell_terms else set()
        if not matched:
            continue
        keys = [j for j, terms in cell_terms.items() if terms]
        asked = [
            j
            for j in cell_terms
            if j not in keys and set(content_terms(_column_name(header, j, offset))) & weights.keys()
        ]
        # No column is named by the question ("How much is the Team plan?"): the whole row says what it holds.
        shown = sorted(keys + asked) if asked else sorted(cell_terms)
        pairs = ", ".join(f"{_column_name(header, j, offset)} = {cells[j]}" for j in shown)
        text = f"row {cells[0]}: {pairs}" if numbered else pairs
        if said_before and any(text in earlier for earlier in said_before):
            continue  # the earlier answer stated this row: the follow-up asks for another
        named = set().union(*(set(content_terms(_column_name(header, j, offset))) for j in shown))
        scored.append((coverage(matched), text, matched | (named & weights.keys())))
    if not scored:
        return None
    best = max(score for score, _, _ in scored)
    chosen = [(text, terms) for score, text, terms in scored if math.isclose(score, best)][:MAX_ROWS]
    sheet = hit.heading_path or f"{hit.page}"
    lead = f"Sheet {sheet}, " if chosen[0][0].startswith("row ") else f"Sheet {sheet}: "
    kept = set(content_terms(sheet)) & weights.keys()
    for _, terms in chosen:
        kept |= terms
    return SheetAnswer(lead + "; ".join(text for text, _ in chosen), frozenset(kept), coverage(kept))
