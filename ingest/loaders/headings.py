"""Sections under their headings: the shared walk for line-based text (Markdown, AsciiDoc, reStructuredText) and
the outline that document formats with heading styles (Word, OpenDocument) fill block by block."""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.types import Section

# (level, title, lines the heading takes) when line i starts a heading, else None.
HeadingMatcher = Callable[[list[str], int], tuple[int, str, int] | None]

_UNDERLINE = re.compile(r"^([=\-~^+*#\"'`:.])\1+\s*$")


class UnderlineLevels:
    """Levels of underlined (setext) headings, in order of first appearance, as reStructuredText does."""

    def __init__(self, strict_length: bool) -> None:
        self.order: list[str] = []
        self.strict_length = strict_length

    def __call__(self, lines: list[str], i: int) -> tuple[int, str, int] | None:
        if i + 1 >= len(lines):
            return None
        title, underline = lines[i].rstrip(), lines[i + 1].rstrip()
        if not title.strip() or title[0].isspace() or _UNDERLINE.match(title):
            return None
        match = _UNDERLINE.match(underline)
        if not match:
            return None
        # AsciiDoc wants the underline within two characters of the title; reST wants it at least as long.
        if self.strict_length and abs(len(underline) - len(title)) > 2:
            return None
        if not self.strict_length and len(underline) < len(title):
            return None
        char = match.group(1)
        if char not in self.order:
            self.order.append(char)
        return self.order.index(char), title.strip(), 2


def split_by_headings(text: str, matchers: list[HeadingMatcher]) -> list[Section]:
    """Cut text at headings; each section's text excludes its heading, which goes into heading_path."""
    lines = text.splitlines()
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    body_start = 1

    def flush() -> None:
        joined = "\n".join(body)
        if joined.strip():
            path = " > ".join(title for _, title in stack)
            sections.append(Section(text=joined, start_line=body_start, heading_path=path))

    i = 0
    while i < len(lines):
        line = lines[i]
        heading = None
        for matcher in matchers:
            heading = matcher(lines, i)
            if heading:
                break
        if heading is None:
            if not body:
                body_start = i + 1
            body.append(line)
            i += 1
            continue
        flush()
        level, title, consumed = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        body = []
        i += consumed
        body_start = i + 1
    flush()
    return sections


class Outline:
    """Body text gathered under a stack of headings; a heading closes the section before it. For formats whose
    blocks carry heading levels (Word styles, OpenDocument outline levels) rather than line numbers."""

    def __init__(self, joiner: str) -> None:
        self.joiner = joiner  # between the body's blocks
        self.sections: list[Section] = []
        self._stack: list[tuple[int, str]] = []
        self._body: list[str] = []

    def heading(self, level: int, title: str) -> None:
        self.flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    def add(self, block: str) -> None:
        self._body.append(block)

    def flush(self) -> None:
        if any(block.strip() for block in self._body):
            path = " > ".join(title for _, title in self._stack)
            self.sections.append(Section(text=self.joiner.join(self._body), heading_path=path))
        self._body.clear()

    def finish(self) -> list[Section]:
        self.flush()
        return self.sections
