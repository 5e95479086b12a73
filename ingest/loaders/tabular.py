"""CSV and TSV: the rows as lines, with the header row as each chunk's heading for context."""

from __future__ import annotations

from ingest.loaders.encoding import decode_text
from ingest.types import LoadOptions, Section

MAX_HEADER_CHARS = 200


def load(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    text = decode_text(data)
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0].strip()[:MAX_HEADER_CHARS]
    body = "\n".join(lines[1:])
    if not body.strip():
        return [Section(text=lines[0], start_line=1)]
    return [Section(text=body, start_line=2, heading_path=f"columns: {header}")]
