"""What each MCP tool does, for a caller whose rights are a `Principal` (api/auth.py): parse, authorise, call the
service, and shape the result twice, as structured content and as text a model reads.

The services are the ones REST calls (collections, retrieval, answering.service, chunks), with the same bounds
(`limits.check_ask`, `SearchOptions.validate`) and the same errors, whose sentences the server hands back as tool
errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from rag_service import audit, conversations
from rag_service.answering import LlmPolicy, build_answerer
from rag_service.answering.request import AskRequest
from rag_service.answering.service import ask as ask_service
from rag_service.api.auth import Principal
from rag_service.chunks import MAX_NEIGHBOURS, MAX_ROW_ID, chunk_in_context
from rag_service.collections import content_summary, describe
from rag_service.db.models import Collection
from rag_service.errors import BackendUnavailableError, InvalidInputError, NotFoundError
from rag_service.limits import AskLimits, check_ask
from rag_service.passages import Hit, describe_location
from rag_service.retrieval import SearchOptions, join_overlapping, retrieve
from rag_service.runtime import Runtime

MAX_PATH_FILTER_CHARS = 1000  # as REST's `filter`
QUOTE_PREVIEW_CHARS = 300


@dataclass
class ToolResult:
    data: dict[str, Any]  # the structured content, matching the tool's output schema
    text: str  # the same, readable


def _readable_names(runtime: Runtime, principal: Principal) -> list[str]:
    with runtime.sessions() as session:
        names = session.scalars(select(Collection.name).order_by(Collection.name)).all()
    return [name for name in names if principal.can_see(name)]


def list_collections(runtime: Runtime, principal: Principal) -> ToolResult:
    with runtime.sessions() as session:
        rows = session.scalars(select(Collection).order_by(Collection.name)).all()
        items = []
        for row in rows:
            if not principal.can_see(row.name):
                continue
            info = describe(session, row)
            items.append(
                {
                    "name": info.name,
                    "documents": info.documents,
                    "chunks": info.chunks,
                    "embedder": info.embedder,
                    "description": content_summary(session, row),
                }
            )
    if not items:
        text = "No collections you can read."
    else:
        lines = [f"{len(items)} collection(s) you can read:"]
        lines += [
            f"- {c['name']}: {c['documents']} documents, {c['chunks']} chunks, embedder {c['embedder']}; "
            f"{c['description']}"
            for c in items
        ]
        text = "\n".join(lines)
    return ToolResult({"collections": items}, text)


def _passage(hit: Hit, collection: str) -> dict[str, Any]:
    return {
        "rank": hit.rank,
        "collection": collection,
        "path": hit.path,
        "section": hit.heading_path,
        "location": hit.location(),
        "page": hit.page,
        "page_unit": hit.to_dict().get("page_unit"),
        "start_line": hit.start_line if hit.page is None else None,
        "end_line": hit.end_line if hit.page is None else None,
        "score": hit.score,
        "chunk_id": hit.chunk_id,
        "chunk_ids": list(hit.chunk_ids),
        "text": hit.text,
    }


def _passage_heading(p: dict[str, Any], with_collection: bool) -> str:
    parts = [f"[{p['rank']}] {p['location']}"]
    if p["section"]:
        parts.append(p["section"])
    parts.append(f"score {p['score']:.3f}")
    parts.append(f"chunk {p['chunk_id']}")
    if with_collection:
        parts.append(f"collection {p['collection']}")
    return " · ".join(parts)


def search(
    runtime: Runtime,
    principal: Principal,
    query: str,
    collection: str | None = None,
    top_k: int | None = None,
    path_filter: str | None = None,
) -> ToolResult:
    """One collection, or (none named) every collection the caller may read, each searched on its own and the
    passages merged by score. An empty `collection` or `path_filter` counts as none given (models send them)."""
    collection, path_filter = collection or None, path_filter or None
    if collection is not None:
        principal.require(collection)
    check_ask(AskLimits.from_settings(runtime.settings), query, [], field="query")
    if path_filter is not None and len(path_filter) > MAX_PATH_FILTER_CHARS:
        raise InvalidInputError(
            f"path_filter: {len(path_filter)} characters, over the limit of {MAX_PATH_FILTER_CHARS}"
        )
    options = SearchOptions.from_settings(runtime, top_k=top_k, path_filter=path_filter)
    if collection is not None:
        names = [collection]
        scope = f"collection {collection!r}"
    else:
        names = _readable_names(runtime, principal)
        scope = (
            f"every collection you can read ({', '.join(names)}), each searched and the passages merged by score"
            if names
            else "every collection you can read: there are none"
        )
    found: list[tuple[Hit, str]] = []
    for name in names:
        try:
            found += [(hit, name) for hit in retrieve(runtime, name, query, options)]
        except NotFoundError:
            if collection is not None:
                raise
            # deleted since it was listed
    if len(names) > 1:
        found.sort(key=lambda pair: -pair[0].score)
        found = found[: options.top_k]
        for rank, (hit, _) in enumerate(found, start=1):
            hit.rank = rank
    passages = [_passage(hit, name) for hit, name in found]
    audit.record(
        runtime,
        principal.actor,
        "search",
        collection=collection,
        details={"collections": names, "hits": len(passages), "chunk_ids": [p["chunk_id"] for p in passages]},
        private={"query": query},
    )
    data = {
        "query": query,
        "scope": scope,
        "collections": names,
        "merged_across_collections": collection is None,
        "passages": passages,
    }
    lines = [f"{len(passages)} passage(s) for {query!r} in {scope}."]
    for p in passages:
        lines += ["", _passage_heading(p, collection is None), p["text"]]
    return ToolResult(data, "\n".join(lines))


def _citation(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": c["n"],
        "path": c["path"],
        "section": c.get("heading", ""),
        "location": describe_location(c["path"], c.get("page"), c.get("start_line"), c.get("end_line")),
        "page": c.get("page"),
        "page_unit": c.get("page_unit"),
        "start_line": c.get("start_line"),
        "end_line": c.get("end_line"),
        "chunk_id": c["chunk_id"],
        "quote": c["quote"],
    }


def ask(
    runtime: Runtime, principal: Principal, question: str, collection: str, conversation_id: int | None = None
) -> ToolResult:
    """Through the one ask path (`answering.service.ask`). Without a conversation one is started, so that the
    result names a conversation id a follow-up can pass."""
    principal.require(collection)
    settings = runtime.settings
    limits = AskLimits.from_settings(settings)
    check_ask(limits, question, [])  # before a conversation is started for it
    if conversation_id is not None and not 1 <= conversation_id <= MAX_ROW_ID:
        raise NotFoundError(f"no conversation {conversation_id}")
    viewer = principal.viewer
    started: int | None = None
    if conversation_id is None:
        with runtime.sessions() as session:
            started = conversations.create_conversation(session, collection, viewer=viewer)["id"]
    request = AskRequest(
        collection=collection,
        question=question,
        answerer=build_answerer(settings, None, {}, policy=LlmPolicy.from_settings(settings)),
        options=SearchOptions.from_settings(runtime),
        conversation_id=conversation_id or started,
        viewer=viewer,
        limits=limits,
        actor=principal.actor,
    )
    try:
        result = ask_service(runtime, request)
        if result.error:
            raise BackendUnavailableError(result.error)
    except BaseException:
        if started is not None:  # nothing was saved in it: no empty conversation is left behind
            with runtime.sessions() as session:
                conversations.delete_conversation(session, started, viewer)
        raise
    full = result.to_dict()
    status = full.get("status") or ("answered" if result.answered else "declined")
    citations = [_citation(c) for c in full["citations"]]
    data: dict[str, Any] = {
        "status": status,
        "answer": result.answer,
        "citations": citations,
        "conversation_id": full.get("conversation_id"),
        "turn_id": full.get("turn_id"),
        "collection": collection,
        "question": result.question,
        "standalone_question": result.standalone_question,
        "backend": result.backend,
        "passages": [
            {
                "rank": h.rank,
                "location": h.location(),
                "section": h.heading_path,
                "score": h.score,
                "chunk_id": h.chunk_id,
            }
            for h in result.hits
        ],
    }
    if "uncited" in full:
        data["uncited"] = full["uncited"]
    if "evidence" in full:
        data["evidence"] = full["evidence"]
    lines = [result.answer.strip(), "", f"Status: {status}."]
    if citations:
        lines.append("Citations:")
        for c in citations:
            quote = " ".join(c["quote"].split())
            quote = quote if len(quote) <= QUOTE_PREVIEW_CHARS else quote[: QUOTE_PREVIEW_CHARS - 1] + "…"
            section = f" ({c['section']})" if c["section"] else ""
            lines.append(f'[{c["n"]}] {c["location"]}{section}, chunk {c["chunk_id"]}: "{quote}"')
    elif status == "declined" and result.hits:
        lines.append("Closest passages: " + "; ".join(f"{h.location()} (chunk {h.chunk_id})" for h in result.hits))
    lines.append(f"conversation_id: {data['conversation_id']} (pass it with a follow-up question)")
    return ToolResult(data, "\n".join(lines))


def _titled(text: str, heading: str, previous_heading: str | None) -> str:
    if previous_heading is not None and heading and heading != previous_heading:
        return f"## {heading.split(' > ')[-1]}\n\n{text}"
    return text


def _span(chunks: list[dict[str, Any]]) -> str:
    path = chunks[0]["path"]
    pages = [c["page"] for c in chunks if c["page"] is not None]
    if pages:
        first = describe_location(path, pages[0], None, None)
        return first if pages[-1] == pages[0] else f"{first}-{pages[-1]}"
    starts = [c["start_line"] for c in chunks if c["start_line"] is not None]
    ends = [c["end_line"] for c in chunks if c["end_line"] is not None]
    return describe_location(path, None, starts[0], ends[-1]) if starts and ends else path


def _chunk_out(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "chunk_id": c["id"],
        "ordinal": c["ordinal"],
        "section": c["heading_path"],
        "location": describe_location(c["path"], c["page"], c["start_line"], c["end_line"]),
        "page": c["page"],
        "page_unit": c["page_unit"],
        "start_line": c["start_line"] if c["page"] is None else None,
        "end_line": c["end_line"] if c["page"] is None else None,
        "text": c["text"],
    }


def read_passage(runtime: Runtime, principal: Principal, chunk_id: int, context: int = 1) -> ToolResult:
    if not 0 <= context <= MAX_NEIGHBOURS:
        raise InvalidInputError(f"context must be between 0 and {MAX_NEIGHBOURS}")
    found = chunk_in_context(runtime, chunk_id, context, principal.collections)
    ordered = [*found["before"], found["chunk"], *found["after"]]
    text, previous = "", None
    for c in ordered:
        piece = _titled(c["text"], c["heading_path"], previous)
        text = piece if previous is None else join_overlapping(text, piece)
        previous = c["heading_path"]
    hit = found["chunk"]
    data = {
        "collection": found["collection"],
        "path": hit["path"],
        "chunk_id": hit["id"],
        "section": hit["heading_path"],
        "location": _span(ordered),
        "text": text,
        "chunk": _chunk_out(hit),
        "before": [_chunk_out(c) for c in found["before"]],
        "after": [_chunk_out(c) for c in found["after"]],
    }
    header = (
        f"{data['location']}"
        + (f" · {data['section']}" if data["section"] else "")
        + f" · chunk {chunk_id} with {len(found['before'])} chunk(s) before and {len(found['after'])} after"
        + f" (collection {found['collection']})"
    )
    return ToolResult(data, f"{header}\n\n{text}")
