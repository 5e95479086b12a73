"""Markdown: sections under ATX (`## Title`) and setext headings; fenced code is never a heading."""

from __future__ import annotations

import re

from ingest.loaders.encoding import decode_text
from ingest.loaders.headings import split_by_headings
from ingest.types import LoadOptions, Section

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def load(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    text = decode_text(data)
    lines = text.splitlines()
    in_fence = [False] * len(lines)
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence[i] = True
            fenced = not fenced
        else:
            in_fence[i] = fenced
    front_matter_end = _front_matter_end(lines)

    def heading(all_lines: list[str], i: int) -> tuple[int, str, int] | None:
        if in_fence[i] or i < front_matter_end:
            return None
        match = _ATX.match(all_lines[i])
        if match and match.group(2):
            return len(match.group(1)) - 1, match.group(2), 1
        if i + 1 < len(all_lines) and not in_fence[i + 1] and all_lines[i].strip():
            setext = _SETEXT.match(all_lines[i + 1])
            if setext and not all_lines[i].startswith((" " * 4, "\t", "-", "*", ">")):
                return (0 if setext.group(1)[0] == "=" else 1), all_lines[i].strip(), 2
        return None

    return split_by_headings(text, [heading])


def _front_matter_end(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                return i + 1
    return 0
