"""Rerankers: reorder retrieved hits with a stronger model. Off by default (no cross-encoder ships offline).

A new reranker is one class with `rerank(query, hits)` plus one line in RERANKERS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from rag_service.errors import InvalidInputError
from rag_service.settings import Settings

if TYPE_CHECKING:
    from rag_service.passages import Hit


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder read from a local folder (`RAG_RERANKER_MODEL_PATH`)."""

    def __init__(self, model_path: str) -> None:
        if not model_path:
            raise InvalidInputError("the cross-encoder reranker needs RAG_RERANKER_MODEL_PATH (a local model folder)")
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(model_path, device="cpu")

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        scores = self.model.predict([(query, hit.text) for hit in hits])
        order = sorted(range(len(hits)), key=lambda i: -float(scores[i]))
        return [hits[i] for i in order]


RERANKERS: dict[str, Callable[[Settings], Reranker]] = {
    "cross-encoder": lambda settings: CrossEncoderReranker(settings.reranker_model_path),
}


def build_reranker(settings: Settings) -> Reranker | None:
    if settings.reranker in ("", "none"):
        return None
    if settings.reranker not in RERANKERS:
        raise InvalidInputError(f"unknown reranker {settings.reranker!r}; choose none or {', '.join(RERANKERS)}")
    return RERANKERS[settings.reranker](settings)
