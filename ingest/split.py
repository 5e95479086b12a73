"""Sections to chunks with LangChain's RecursiveCharacterTextSplitter, measured in the embedder's tokens.

The length function is passed in, so chunks are sized by whichever embedder the collection uses, and no
chunk (heading path included) is silently truncated by the model's token limit.

Markdown tables (every loader gives tables in that form) are not left to the splitter, which would cut them
anywhere: a table that fits is one chunk, with the short paragraph before it (its caption) where that fits too;
a longer one is cut between rows, and each piece starts with the table's header row, so a cell is never read
without the column it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from ingest.loaders.tables import DELIMITER
from ingest.types import Section, TextChunk

TokenCounter = Callable[[str], int]

# Prose separators: paragraphs, lines, then sentence ends (Latin and CJK), then words.
PROSE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "? ", "! ", "; ", ", ", "，", " ", ""]
MAX_HEADING_CHARS = 200
MIN_CHUNK_TOKENS = 32
# [CLS] and [SEP] around the text, and the newline between heading path and text.
SPECIAL_TOKENS = 3
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)
# A header row, then a delimiter row of dashes with at least one pipe (GitHub's pipe tables, with or without the
# outer pipes; a bare "----" under a line is a setext heading or an AsciiDoc listing, not a table).
_TABLE = re.compile(
    r"^(?P<header>[^\n]*\|[^\n]*)\n"
    rf"(?P<rule>{DELIMITER})\n"
    r"(?P<rows>(?:[^\n]*\|[^\n]*(?:\n|$))*)",
    re.MULTILINE,
)
Piece = tuple[str, int, int]  # chunk text, and the span of the section's text it comes from


def _splitter(
    size: int, overlap: int, count_tokens: TokenCounter, language: str | None
) -> RecursiveCharacterTextSplitter:
    if language:
        separators = RecursiveCharacterTextSplitter.get_separators_for_language(Language(language))
        return RecursiveCharacterTextSplitter(
            separators=separators,
            is_separator_regex=True,
            chunk_size=size,
            chunk_overlap=overlap,
            length_function=count_tokens,
            add_start_index=True,
        )
    return RecursiveCharacterTextSplitter(
        separators=PROSE_SEPARATORS,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=count_tokens,
        add_start_index=True,
    )


def _shorten_heading(path: str) -> str:
    if len(path) <= MAX_HEADING_CHARS:
        return path
    parts = path.split(" > ")
    while len(parts) > 1 and len(" > ".join(parts)) > MAX_HEADING_CHARS:
        parts.pop(0)
    return " > ".join(parts)[-MAX_HEADING_CHARS:]


def split_sections(
    sections: Iterable[Section],
    count_tokens: TokenCounter,
    chunk_size: int,
    chunk_overlap: int,
    max_tokens: int,
    language: str | None = None,
) -> list[TextChunk]:
    chunks: list[TextChunk] = []
    for section in sections:
        heading = _shorten_heading(section.heading_path)
        heading_tokens = count_tokens(heading) if heading else 0
        budget = max(MIN_CHUNK_TOKENS, min(chunk_size, max_tokens - heading_tokens - SPECIAL_TOKENS))
        fences = [(m.start(), m.group(1)) for m in _FENCE.finditer(section.text)] if language is None else []
        overlap = min(chunk_overlap, budget // 4)
        for text, start, end in _split_section(section.text, budget, overlap, count_tokens, language, fences):
            start_line = end_line = None
            if section.start_line is not None:
                start_line = section.start_line + section.text.count("\n", 0, start)
                end_line = start_line + section.text.count("\n", start, end)
            if fences and section.text.startswith(text, start):
                text = _close_fences(text, start, fences, count_tokens, max_tokens - heading_tokens - SPECIAL_TOKENS)
            chunks.append(
                TextChunk(
                    text=text,
                    ordinal=len(chunks),
                    page=section.page,
                    start_line=start_line,
                    end_line=end_line,
                    heading_path=heading,
                )
            )
    return chunks


def _split_section(
    text: str, size: int, overlap: int, count_tokens: TokenCounter, language: str | None, fences: list[tuple[int, str]]
) -> list[Piece]:
    tables = [] if language else _tables(text, fences)
    if not tables or count_tokens(text.strip()) <= size:
        return [
            (piece, start, start + len(piece))
            for piece, start in _split_text(text, size, overlap, count_tokens, language)
        ]
    pieces: list[Piece] = []
    position = 0
    for table in tables:
        before = text[position : table.start()]
        prose = [
            (p, position + s, position + s + len(p)) for p, s in _split_text(before, size, overlap, count_tokens, None)
        ]
        rows = _table_pieces(table, size, count_tokens)
        if prose and len(rows) == 1:
            prose[-1:] = _with_caption(text, prose[-1], rows.pop(), size, count_tokens)
        pieces.extend(prose + rows)
        position = table.end()
    pieces.extend(
        (p, position + s, position + s + len(p))
        for p, s in _split_text(text[position:], size, overlap, count_tokens, None)
    )
    return pieces


def _with_caption(text: str, before: Piece, table: Piece, size: int, count_tokens: TokenCounter) -> list[Piece]:
    """The piece before a table joined to it where both fit in one chunk; else the last paragraph of that piece
    (a table's caption or lead-in) alone, where it fits; else the two apart."""
    whole = text[before[1] : table[2]].strip()
    if count_tokens(whole) <= size:
        return [(whole, before[1], table[2])]
    cut = before[0].rfind("\n\n")
    if cut > 0:
        start = before[1] + cut + 2
        caption = text[start : table[2]].strip()
        if count_tokens(caption) <= size:
            return [(before[0][:cut].rstrip(), before[1], before[1] + cut), (caption, start, table[2])]
    return [before, table]


def _tables(text: str, fences: list[tuple[int, str]]) -> list[re.Match[str]]:
    """Markdown tables outside fenced code blocks."""
    code = [(fences[i][0], fences[i + 1][0] if i + 1 < len(fences) else len(text)) for i in range(0, len(fences), 2)]
    return [m for m in _TABLE.finditer(text) if not any(start <= m.start() < end for start, end in code)]


def _table_pieces(table: re.Match[str], size: int, count_tokens: TokenCounter) -> list[Piece]:
    """The table whole where it fits; else runs of rows, each under the header and delimiter rows."""
    whole = table.group(0).rstrip("\n")
    if count_tokens(whole) <= size:
        return [(whole, table.start(), table.start() + len(whole))]
    head = f"{table.group('header')}\n{table.group('rule')}"
    head_tokens = count_tokens(head)
    pieces: list[Piece] = []
    rows: list[str] = []
    start = offset = table.start("rows")
    tokens = head_tokens
    for row in table.group("rows").splitlines(keepends=True):
        row_tokens = count_tokens(row)
        if rows and tokens + row_tokens > size:
            pieces.append((head + "\n" + "".join(rows).rstrip("\n"), start, offset))
            rows, start, tokens = [], offset, head_tokens
        rows.append(row)
        tokens += row_tokens
        offset += len(row)
    if rows:
        pieces.append((head + "\n" + "".join(rows).rstrip("\n"), start, offset))
    if pieces:  # the first piece starts where the table does, header included
        pieces[0] = (pieces[0][0], table.start(), pieces[0][2])
    fitted: list[Piece] = []
    for piece, start, end in pieces:
        if count_tokens(piece) <= size:
            fitted.append((piece, start, end))
        else:  # one row longer than a chunk: cut as prose, like any long paragraph
            fitted.extend((p, start, end) for p, _ in _split_text(piece, size, 0, count_tokens, None))
    return fitted


def _close_fences(text: str, start: int, fences: list[tuple[int, str]], count_tokens: TokenCounter, limit: int) -> str:
    """A chunk cut inside a fenced code block gets the fence it lacks at its start or end, so that every chunk
    reads as well-formed Markdown: a dangling closing fence would otherwise open a block at the wrong place and
    turn the prose after it into code, for the answerer and the model alike. Within the model's limit only."""
    before = [marker for offset, marker in fences if offset < start]
    inside = [marker for offset, marker in fences if start <= offset < start + len(text)]
    opened = before[-1] if len(before) % 2 else None
    fixed = f"{opened}\n{text}" if opened else text
    if (len(inside) + bool(opened)) % 2:
        fixed += "\n" + (inside[-1] if inside else opened or "```")
    if fixed != text and count_tokens(fixed) > limit:
        return text
    return fixed


def _split_text(
    text: str, size: int, overlap: int, count_tokens: TokenCounter, language: str | None
) -> list[tuple[str, int]]:
    """(chunk text, offset in `text`) pairs, stripped of surrounding blank lines, none over `size` tokens."""
    stripped = text.strip()
    if not stripped:
        return []
    if count_tokens(stripped) <= size:
        return [(stripped, text.find(stripped))]
    pieces: list[tuple[str, int]] = []
    for document in _splitter(size, overlap, count_tokens, language).create_documents([text]):
        piece = document.page_content
        start = document.metadata.get("start_index", -1)
        start = text.find(piece) if start < 0 else start
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if not piece:
            continue
        # Tokenizers can count a joined piece as more than its parts; cut such a piece again, smaller.
        if count_tokens(piece) > size and size > MIN_CHUNK_TOKENS:
            pieces.extend(
                (sub, start + lead + offset)
                for sub, offset in _split_text(
                    piece, max(MIN_CHUNK_TOKENS, int(size * 0.8)), overlap // 2, count_tokens, language
                )
            )
        else:
            pieces.append((piece, start + lead))
    return pieces
