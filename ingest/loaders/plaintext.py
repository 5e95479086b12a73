"""Plain text, reStructuredText and AsciiDoc: line-numbered sections, headings where the format has them."""

from __future__ import annotations

import re

from ingest.loaders.encoding import decode_text
from ingest.loaders.headings import UnderlineLevels, split_by_headings
from ingest.types import LoadOptions, Section

_ASCIIDOC_TITLE = re.compile(r"^(={1,6})\s+(\S.*?)\s*$")


def load(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    text = decode_text(data)
    return [Section(text=text, start_line=1)] if text.strip() else []


def load_with_underlined_headings(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    """.txt and .rst: many such files (Git's own docs among them) mark titles by underlining them."""
    strict = not name.lower().endswith(".rst")
    return split_by_headings(decode_text(data), [UnderlineLevels(strict_length=strict)])


def _asciidoc_title(lines: list[str], i: int) -> tuple[int, str, int] | None:
    match = _ASCIIDOC_TITLE.match(lines[i])
    if match is None:
        return None
    return len(match.group(1)) - 1, match.group(2), 1


def load_asciidoc(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    return split_by_headings(decode_text(data), [_asciidoc_title, UnderlineLevels(strict_length=True)])
