"""Citations: `[n]` markers in an answer, checked against the passages given and mapped to files and lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.loaders import page_unit
from ingest.loaders.tables import DELIMITER_ROW
from rag_service.passages import Hit, describe_location

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MARKER_WITH_SPACE = re.compile(r"\s*" + _MARKER.pattern)
_SPACED_MARKER = re.compile(r"(\s*)" + _MARKER.pattern)
_DECLINE = re.compile(
    r"(i (do not|don't|cannot|can't) (know|find|answer)"
    r"|not (found|mentioned|covered|stated) in the (documents|passages|context)"
    r"|(documents|passages|context) (do|does) not (say|contain|mention|answer|provide)|no information|could not find"
    r"|没有找到|找不到|无法回答|不知道|没有(说明|提到|提及|相关信息)|未(提及|说明|找到))",
    re.IGNORECASE,
)
QUOTE_CHARS = 240
EXCERPT_CHARS = 1200
ANCHOR_WORDS = 8
MIN_EXCERPT_WORDS = 4
_FENCE_WORD = re.compile(r"^(```\w*|~~~)$")
_LIST_MARK = re.compile(r"^([-*+•>]|\d+[.)])$")


@dataclass
class Citation:
    n: int
    path: str
    chunk_id: int
    quote: str
    page: int | None = None
    start_line: int | None = None
    end_line: int | None = None
    heading: str = ""

    def to_dict(self) -> dict:
        data = {"n": self.n, "path": self.path, "chunk_id": self.chunk_id, "quote": self.quote, "heading": self.heading}
        if self.page is not None:
            data["page"], data["page_unit"] = self.page, page_unit(self.path)
        else:
            data["start_line"], data["end_line"] = self.start_line, self.end_line
        return data

    def location(self) -> str:
        return describe_location(self.path, self.page, self.start_line, self.end_line)


def cited_numbers(answer: str) -> list[int]:
    """The passage numbers an answer cites, in order of first appearance; `[1, 3]` counts as 1 and 3."""
    numbers: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in numbers:
                numbers.append(n)
    return numbers


def strip_markers(text: str) -> str:
    """The text without its `[n]` markers (and the space before each): what was quoted, as the document has it."""
    return _MARKER_WITH_SPACE.sub("", text)


def remove_invalid_markers(answer: str, passage_count: int) -> str:
    """Drop markers that cite a passage that was not given (`[5]` when four were)."""

    def keep_valid(match: re.Match[str]) -> str:
        valid = [p.strip() for p in match.group(2).split(",") if 1 <= int(p) <= passage_count]
        return f"{match.group(1)}[{', '.join(valid)}]" if valid else ""  # a dropped marker takes its space along

    return _SPACED_MARKER.sub(keep_valid, answer)


@dataclass(frozen=True)
class ChunkText:
    """A stored chunk as the citation check needs it: where its text starts in the file."""

    text: str
    start_line: int | None
    page: int | None
    heading_path: str


def cited_segments(answer: str) -> dict[int, str]:
    """For each cited passage number, the answer text just before its first marker: what was taken from it."""
    segments: dict[int, str] = {}
    previous_end = 0
    for match in _MARKER.finditer(answer):
        segment = answer[previous_end : match.start()].strip()
        for part in match.group(1).split(","):
            segments.setdefault(int(part), segment)
        previous_end = match.end()
    return segments


def _words(text: str) -> list[str]:
    """The words of an excerpt as the document has them: no code fences, no list marks at a line's start."""
    words: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if parts and _LIST_MARK.match(parts[0]):
            parts = parts[1:]
        words.extend(word for word in parts if not _FENCE_WORD.match(word))
    return words


def _anchor(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(word) for word in words))


def locate_excerpt(excerpt: str, hit: Hit, chunks: dict[int, ChunkText]) -> Citation | None:
    """Where a verbatim excerpt of the passage lies in the file: its chunk's lines (or page) and section."""
    words = _words(excerpt)
    if len(words) < MIN_EXCERPT_WORDS:  # "Yes [1]" could be found anywhere
        return None
    start, end = _anchor(words[:ANCHOR_WORDS]), _anchor(words[-ANCHOR_WORDS:])
    ordered = [(cid, chunks[cid]) for cid in sorted(hit.chunk_ids) if cid in chunks]
    for position, (chunk_id, chunk) in enumerate(ordered):
        found = start.search(chunk.text)
        if found is None:
            continue
        start_line = end_line = None
        for _, later in ordered[position:]:
            offset = found.start() if later is chunk else 0
            last = end.search(later.text, offset)
            if last is not None:
                if chunk.start_line is not None and later.start_line is not None:
                    start_line = chunk.start_line + chunk.text.count("\n", 0, found.start())
                    end_line = later.start_line + later.text.count("\n", 0, last.end())
                break
        else:
            if chunk.start_line is not None:
                start_line = chunk.start_line + chunk.text.count("\n", 0, found.start())
                end_line = start_line + excerpt.count("\n")
        quote = " ".join(words)
        return Citation(
            n=0,
            path=hit.path,
            chunk_id=chunk_id,
            quote=quote[:EXCERPT_CHARS] + ("…" if len(quote) > EXCERPT_CHARS else ""),
            page=chunk.page,
            start_line=start_line,
            end_line=end_line,
            heading=chunk.heading_path,
        )
    return None


MIN_ROW_CELLS = 2  # cells of one table row an answer must restate for the row to be what it cites


def locate_row(text: str, hit: Hit, chunks: dict[int, ChunkText]) -> Citation | None:
    """The table row of the passage that an answer restates in its own words ("Sheet Prices, row 4: Plan = Team,
    Price = 12 EUR", or "The Team plan costs 12 EUR"): the body row with the most of its cells in the text (at
    least two), quoted as the file has it, with its chunk's page and section."""
    best: tuple[int, int, ChunkText, int, str] | None = None  # (cells found, chunk id, chunk, line index, line)
    for chunk_id in sorted(hit.chunk_ids):
        chunk = chunks.get(chunk_id)
        if chunk is None:
            continue
        lines = chunk.text.splitlines()
        for i, line in enumerate(lines):
            row = line.strip()
            if not row.startswith("|") or DELIMITER_ROW.match(row):
                continue
            if i + 1 < len(lines) and DELIMITER_ROW.match(lines[i + 1]):
                continue  # a header names columns; the answer names them too, whichever row it states
            cells = {cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip("|")) if cell.strip()}
            found = sum(1 for cell in cells if re.search(rf"(?<!\w){re.escape(cell)}(?!\w)", text))
            if found >= MIN_ROW_CELLS and (best is None or found > best[0]):
                best = (found, chunk_id, chunk, i, row)
    if best is None:
        return None
    _, chunk_id, chunk, index, row = best
    line = chunk.start_line + index if chunk.start_line is not None else None
    return Citation(
        n=0,
        path=hit.path,
        chunk_id=chunk_id,
        quote=" ".join(row.split()),
        page=chunk.page,
        start_line=line,
        end_line=line,
        heading=chunk.heading_path,
    )


def build_citations(answer: str, passages: list[Hit], chunks: dict[int, ChunkText] | None = None) -> list[Citation]:
    """One citation per cited passage, in order of first citation. When the text before a marker is a verbatim
    excerpt of the passage (the extractive answerer, or a model that quoted), the citation is narrowed to that
    excerpt's own lines, page and section; otherwise it names the whole passage."""
    segments = cited_segments(answer)
    citations = []
    for n in cited_numbers(answer):
        if not 1 <= n <= len(passages):
            continue
        hit = passages[n - 1]
        segment = segments.get(n, "")
        located = locate_excerpt(segment, hit, chunks or {}) or locate_row(segment, hit, chunks or {})
        if located is not None:
            located.n = n
            citations.append(located)
            continue
        quote = " ".join(hit.text.split())
        citations.append(
            Citation(
                n=n,
                path=hit.path,
                chunk_id=hit.chunk_id,
                quote=quote[:QUOTE_CHARS] + ("…" if len(quote) > QUOTE_CHARS else ""),
                page=hit.page,
                start_line=hit.start_line,
                end_line=hit.end_line,
                heading=hit.heading_path,
            )
        )
    return citations


def is_decline(answer: str) -> bool:
    """The answer says the documents do not hold the answer."""
    return bool(_DECLINE.search(answer[:300]))
