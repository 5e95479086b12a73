"""The one retrieval path behind `search`, `ask`, `eval`, the API and the UI.

dense (FAISS) + lexical (BM25) → fusion → path filter → min score → a follow-up's preferred documents →
optional reranker → adjacent hits of one document merged into one passage → a passage that ends introducing
an example gets the chunk after it.
What `search` shows is exactly what `ask` gives the model.

Scores: dense, the cosine similarity; lexical, BM25 divided by the best BM25 score of the query; hybrid
(`RAG_FUSION=convex`, the default), (1 - w) x cosine + w x normalised BM25 over the union of both candidate
lists, each candidate scored by both retrievers (its stored vector, its BM25 score). A convex combination of
scores keeps how far apart two candidates are, which reciprocal-rank fusion (`RAG_FUSION=rrf`, score divided
by its maximum) throws away: with RRF a weak lexical ranking can push the dense winner off rank 1.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.loaders.tables import DELIMITER_ROW
from rag_service.collections import find_collection
from rag_service.db.models import Chunk, Document
from rag_service.errors import InvalidInputError
from rag_service.passages import Hit
from rag_service.runtime import Runtime

MODES = ("hybrid", "dense", "lexical")
GLOB_CHARS = set("*?[")


@dataclass
class SearchOptions:
    top_k: int = 5
    mode: str = "hybrid"
    path_filter: str | None = None
    min_score: float = 0.0
    merge_neighbours: bool = True
    # A follow-up's conversation: chunks of these documents get `prefer_bonus` more score (answering/service.py)
    prefer_documents: frozenset[int] = frozenset()
    prefer_bonus: float = 0.0

    @classmethod
    def from_settings(cls, runtime: Runtime, **overrides: object) -> SearchOptions:
        settings = runtime.settings
        options = cls(
            top_k=settings.top_k,
            mode=settings.retrieval_mode,
            min_score=settings.min_score,
            merge_neighbours=settings.merge_neighbours,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(options, key, value)
        options.validate()
        return options

    def validate(self) -> None:
        if self.mode not in MODES:
            raise InvalidInputError(f"unknown retrieval mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if not 1 <= self.top_k <= 100:
            raise InvalidInputError("top_k must be between 1 and 100")


def path_matches(path: str, pattern: str) -> bool:
    """A glob when the pattern has glob characters (`docs/*.md`), else a path prefix (`docs/setup`)."""
    if GLOB_CHARS & set(pattern):
        return fnmatch.fnmatchcase(path, pattern)
    return path.startswith(pattern)


def reciprocal_rank_fusion(rankings: list[list[int]], k: int) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for position, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + position + 1)
    return fused


def convex_fusion(dense: dict[int, float], lexical: dict[int, float], lexical_weight: float) -> list[tuple[int, float]]:
    """(1 - w) x cosine + w x normalised BM25, best first; a score a retriever did not give counts as 0."""
    candidates = dense.keys() | lexical.keys()
    fused = {c: (1.0 - lexical_weight) * dense.get(c, 0.0) + lexical_weight * lexical.get(c, 0.0) for c in candidates}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def retrieve(
    runtime: Runtime,
    collection_name: str,
    query: str,
    options: SearchOptions,
) -> list[Hit]:
    if not query.strip():
        raise InvalidInputError("the query is empty")
    settings = runtime.settings
    with runtime.sessions() as session:
        collection = find_collection(session, collection_name)
        allowed: np.ndarray | None = None
        if options.path_filter:
            allowed = _chunk_ids_under(session, collection.id, options.path_filter)
    indexes = runtime.indexes.get(collection)
    if options.mode in ("hybrid", "lexical"):
        runtime.indexes.ensure_lexical(indexes)
    pool = max(settings.candidates_per_retriever, options.top_k * 4)
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    convex = options.mode == "hybrid" and settings.fusion == "convex"
    lexical_extra: dict[int, float] = {}
    with indexes.lock:
        if options.mode in ("hybrid", "dense") and (allowed is None or len(allowed)):
            vector = indexes.embedder.embed_query(query)
            selector = faiss.IDSelectorBatch(allowed) if allowed is not None else None
            dense = indexes.vectors.search(vector, pool, selector)
        if options.mode in ("hybrid", "lexical") and (allowed is None or len(allowed)):
            also = [chunk_id for chunk_id, _ in dense] if convex else None
            lexical, lexical_extra = indexes.lexical.rank(query, pool, allowed, also)
        dense_scores = dict(dense)
        missing = [chunk_id for chunk_id, _ in lexical if chunk_id not in dense_scores] if convex else []
        if missing:
            with contextlib.suppress(RuntimeError):  # a chunk not in the vector index yet: no cosine to add
                stored = indexes.vectors.vectors_for(np.array(missing, dtype=np.int64))
                dense_scores.update(zip(missing, (stored @ vector).tolist(), strict=True))
    top_lexical = lexical[0][1] if lexical else 1.0
    lexical_scores = {chunk_id: score / top_lexical for chunk_id, score in lexical}
    if options.mode == "dense":
        ranked = dense
    elif options.mode == "lexical":
        ranked = [(chunk_id, lexical_scores[chunk_id]) for chunk_id, _ in lexical]
    elif convex:
        for chunk_id, score in lexical_extra.items():
            lexical_scores.setdefault(chunk_id, score / top_lexical)
        ranked = convex_fusion(dense_scores, lexical_scores, settings.fusion_lexical_weight)
    else:
        fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in lexical]], settings.rrf_k)
        best = 2.0 / (settings.rrf_k + 1)
        ranked = sorted(((c, s / best) for c, s in fused.items()), key=lambda item: -item[1])
    if options.min_score > 0:  # 0 means no floor: a cosine, and so a fused score, can be below 0
        ranked = [(c, s) for c, s in ranked if s >= options.min_score]
    hits = _load_hits(runtime, ranked, dense_scores, lexical_scores)
    if options.prefer_documents and options.prefer_bonus:
        for hit in hits:
            if hit.document_id in options.prefer_documents:
                hit.score = round(hit.score + options.prefer_bonus, 6)
        hits.sort(key=lambda h: -h.score)
    if runtime.reranker is not None:
        hits = runtime.reranker.rerank(query, hits)
    if options.merge_neighbours:
        hits = _merge_adjacent(hits, options.top_k)
    hits = hits[: options.top_k]
    if options.merge_neighbours:
        _complete_examples(runtime, hits)
    for rank, hit in enumerate(hits, start=1):
        hit.rank = rank
    return hits


def _complete_examples(runtime: Runtime, passages: list[Hit]) -> None:
    """A passage that ends by introducing something ("... so we also add `--ignore-unmatch`:") gets the next
    chunk of its document: the splitter often cuts right before the command or block that sentence introduces,
    and a passage without it answers nothing."""
    wanted = {
        (p.document_id, p.ordinal + len(p.chunk_ids)): p for p in passages if p.text.rstrip().endswith((":", "："))
    }
    if not wanted:
        return
    documents = {document_id for document_id, _ in wanted}
    ordinals = {ordinal for _, ordinal in wanted}
    with runtime.sessions() as session:
        rows = session.scalars(select(Chunk).where(Chunk.document_id.in_(documents), Chunk.ordinal.in_(ordinals)))
        following = [chunk for chunk in rows if (chunk.document_id, chunk.ordinal) in wanted]
    for chunk in following:
        passage = wanted[(chunk.document_id, chunk.ordinal)]
        if chunk.page != passage.page or chunk.id in passage.chunk_ids:
            continue
        passage.text = join_overlapping(passage.text, _titled(chunk.heading_path, passage.heading_path, chunk.text))
        passage.end_line = chunk.end_line if chunk.end_line is not None else passage.end_line
        passage.chunk_ids.append(chunk.id)


def _chunk_ids_under(session: Session, collection_id: int, pattern: str) -> np.ndarray:
    rows = session.execute(
        select(Chunk.id, Document.path)
        .join(Document, Chunk.document_id == Document.id)
        .where(Chunk.collection_id == collection_id)
    )
    return np.array([chunk_id for chunk_id, path in rows if path_matches(path, pattern)], dtype=np.int64)


def _load_hits(
    runtime: Runtime,
    ranked: list[tuple[int, float]],
    dense_scores: dict[int, float],
    lexical_scores: dict[int, float],
) -> list[Hit]:
    if not ranked:
        return []
    ids = [chunk_id for chunk_id, _ in ranked]
    with runtime.sessions() as session:
        rows = session.execute(
            select(Chunk, Document.path).join(Document, Chunk.document_id == Document.id).where(Chunk.id.in_(ids))
        ).all()
    by_id = {chunk.id: (chunk, path) for chunk, path in rows}
    hits = []
    for chunk_id, score in ranked:
        if chunk_id not in by_id:
            continue  # deleted since the index was read
        chunk, path = by_id[chunk_id]
        hits.append(
            Hit(
                rank=0,
                score=round(float(score), 6),
                path=path,
                text=chunk.text,
                chunk_id=chunk.id,
                document_id=chunk.document_id,
                page=chunk.page,
                start_line=chunk.start_line,
                end_line=chunk.end_line,
                heading_path=chunk.heading_path,
                dense_score=_rounded(dense_scores.get(chunk_id)),
                lexical_score=_rounded(lexical_scores.get(chunk_id)),
                chunk_ids=[chunk.id],
                ordinal=chunk.ordinal,
            )
        )
    return hits


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _merge_adjacent(hits: list[Hit], top_k: int) -> list[Hit]:
    """Fold a hit into a better-ranked passage of the same document that it directly follows or precedes.

    Only hits ranked within 2 x top_k are folded in: a far-down neighbour adds length, not evidence.
    """
    passages: list[Hit] = []
    for position, hit in enumerate(hits):
        target = None
        if position < 2 * top_k:
            target = next((p for p in passages if _adjacent(p, hit)), None)
        if target is None:
            if len(passages) < top_k:
                passages.append(hit)
            continue
        if hit.ordinal < target.ordinal:
            target.text = join_overlapping(hit.text, _titled(target.heading_path, hit.heading_path, target.text))
            target.heading_path = hit.heading_path
            target.ordinal = hit.ordinal
            target.start_line = hit.start_line if hit.start_line is not None else target.start_line
        else:
            target.text = join_overlapping(target.text, _titled(hit.heading_path, target.heading_path, hit.text))
            target.end_line = hit.end_line if hit.end_line is not None else target.end_line
        target.chunk_ids.append(hit.chunk_id)
    return passages


def _titled(heading: str, neighbour_heading: str, text: str) -> str:
    """A chunk from another section keeps its title, as a Markdown heading line, when merged into a passage."""
    if heading and heading != neighbour_heading:
        return f"## {heading.split(' > ')[-1]}\n\n{text}"
    return text


def _adjacent(passage: Hit, hit: Hit) -> bool:
    """`passage` spans ordinals [ordinal, ordinal + merged); `hit` touches either end on the same page."""
    if passage.document_id != hit.document_id or passage.page != hit.page:
        return False
    return hit.ordinal in (passage.ordinal - 1, passage.ordinal + len(passage.chunk_ids))


_CLOSING_FENCE = re.compile(r"\n[ \t]*(```|~~~)[ \t]*$")
_OPENING_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*\n")


def join_overlapping(first: str, second: str, min_overlap: int = 16) -> str:
    """Concatenate two consecutive chunks, dropping the text the splitter repeated in both. A code block cut
    between them was closed at the end of the first and opened again at the start of the second (ingest's
    split): joined, it is one block again."""
    closing, opening = _CLOSING_FENCE.search(first), _OPENING_FENCE.match(second)
    if closing and opening:
        inner_first, inner_second = first[: closing.start()], second[opening.end() :]
        joined = _join_text(inner_first, inner_second, min_overlap)
        if joined is not None:
            return joined
    second = _without_repeated_header(first, second)
    return _join_text(first, second, min_overlap) or first + "\n" + second


def _without_repeated_header(first: str, second: str) -> str:
    """The second chunk of a table cut between rows repeats the header row and delimiter the first already has
    (ingest's split); joined, the table reads as one."""
    lines = second.split("\n", 2)
    head = "\n".join(lines[:2])
    if len(lines) > 2 and "|" in lines[0] and DELIMITER_ROW.match(lines[1]) and head + "\n" in first + "\n":
        return second[len(head) :].lstrip("\n")
    return second


def _join_text(first: str, second: str, min_overlap: int) -> str | None:
    longest = min(len(first), len(second))
    for size in range(longest, min_overlap - 1, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return None


@dataclass
class CollectionStatistics:
    """What the steps after retrieval need of a collection's indexes: how rare each stemmed term is (BM25
    document frequencies over `chunks` chunks), and the embedder's token count, the unit of the context budget."""

    frequencies: dict[str, int]
    chunks: int
    count_tokens: Callable[[str], int]


def collection_statistics(runtime: Runtime, collection_name: str) -> CollectionStatistics:
    with runtime.sessions() as session:
        indexes = runtime.indexes.get(find_collection(session, collection_name))
    runtime.indexes.ensure_lexical(indexes)
    frequencies = indexes.lexical.document_frequencies()
    return CollectionStatistics(frequencies, max(indexes.lexical.size, 1), indexes.embedder.count_tokens)
