"""One chunk with its neighbours in the same document: how a citation or a search hit is read in context
(REST `GET /api/chunks/{id}`, MCP's `read_passage`)."""

from __future__ import annotations

from collections.abc import Collection as Names
from typing import Any

from sqlalchemy import select

from ingest.loaders import page_unit
from rag_service.answering.terms import content_terms
from rag_service.db.models import Chunk, Collection, Document
from rag_service.errors import NotFoundError
from rag_service.runtime import Runtime
from rag_service.stores.lexical_index import tokenize

MAX_NEIGHBOURS = 10
MAX_ROW_ID = 2_147_483_647  # 32-bit ids on PostgreSQL: a larger number names nothing


def chunk_dict(chunk: Chunk, path: str) -> dict[str, Any]:
    return {
        "id": chunk.id,
        "document_id": chunk.document_id,
        "path": path,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "heading_path": chunk.heading_path,
        "page": chunk.page,
        "page_unit": page_unit(path) if chunk.page is not None else None,
        "start_line": chunk.start_line,
        "end_line": chunk.end_line,
    }


def highlight_terms(question: str, texts: list[str]) -> list[str]:
    """The words of `texts` that carry the question's meaning, as they are written there: the content terms the
    answerer and the evidence check use ("timeouts" meets "timeout"), never "the" or "from"."""
    wanted = set(content_terms(question))
    words = {token for text in texts for token in tokenize(text)}
    return sorted((word for word in words if set(content_terms(word)) & wanted), key=lambda w: (-len(w), w))


def chunk_in_context(
    runtime: Runtime, chunk_id: int, neighbours: int, readable: Names[str] | None = None, question: str = ""
) -> dict[str, Any]:
    """{collection, chunk, before, after, highlight}: up to `neighbours` chunks of the same document on each
    side, in order, and the words to mark for `question`. A chunk of a collection outside `readable` (None:
    all) is answered as a missing one: ids do not tell what exists elsewhere."""
    if not 1 <= chunk_id <= MAX_ROW_ID:
        raise NotFoundError(f"no chunk {chunk_id}")
    with runtime.sessions() as session:
        row = session.execute(
            select(Chunk, Document.path, Collection.name)
            .join(Document, Chunk.document_id == Document.id)
            .join(Collection, Chunk.collection_id == Collection.id)
            .where(Chunk.id == chunk_id)
        ).first()
        if row is None or (readable is not None and row[2] not in readable):
            raise NotFoundError(f"no chunk {chunk_id}")
        chunk, path, collection = row
        around = session.scalars(
            select(Chunk)
            .where(
                Chunk.document_id == chunk.document_id,
                Chunk.ordinal >= chunk.ordinal - neighbours,
                Chunk.ordinal <= chunk.ordinal + neighbours,
                Chunk.id != chunk.id,
            )
            .order_by(Chunk.ordinal)
        ).all()
        return {
            "collection": collection,
            "chunk": chunk_dict(chunk, path),
            "before": [chunk_dict(c, path) for c in around if c.ordinal < chunk.ordinal],
            "after": [chunk_dict(c, path) for c in around if c.ordinal > chunk.ordinal],
            "highlight": highlight_terms(question, [chunk.text, *(c.text for c in around)]) if question else [],
        }
