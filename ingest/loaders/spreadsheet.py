"""Excel .xlsx/.xlsm: one section per sheet as a Markdown table, cited as "sheet N" under the sheet's name.

openpyxl in read-only mode streams rows instead of building the workbook, and reads formulas as the values Excel
saved with them. The first non-empty row is the header; the splitter repeats it in every chunk of the sheet, so
a cell is always found with the column it belongs to. Each row keeps its number in the sheet, in the table's first
column ("Row"), so an answer can name the row it read.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl

from ingest.loaders.containers import checked
from ingest.loaders.tables import sheet_table
from ingest.types import LoadError, LoadOptions, Section


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
    try:
        workbook = openpyxl.load_workbook(checked(data, ".xlsx", options), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise LoadError(f"unreadable .xlsx: {type(exc).__name__}: {exc}") from exc
    sections = []
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            rows: list[tuple[int, list[str]]] = []
            # openpyxl yields every row from the first, missing ones as empty: the count is the sheet's row number
            for read, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if len(rows) >= options.max_sheet_rows:
                    raise LoadError(
                        f"sheet {sheet.title!r} has more than {options.max_sheet_rows} rows (RAG_MAX_SHEET_ROWS)"
                    )
                if any(value is not None and str(value).strip() for value in row):
                    rows.append((read, [_value(value) for value in row]))
                if read % 1000 == 1:  # empty rows too: a sheet can be formatted a million rows down
                    options.check_time(f"reading sheet {sheet.title!r}")
            table = sheet_table(rows)
            if table:
                sections.append(Section(text=table, page=number, heading_path=sheet.title))
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise LoadError(f"unreadable .xlsx: {type(exc).__name__}: {exc}") from exc
    finally:
        workbook.close()
    return sections


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
