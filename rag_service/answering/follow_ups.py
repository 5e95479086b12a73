"""What a follow-up keeps of its conversation for retrieval: the documents its earlier question was about.

A follow-up (a question the condense step had to rewrite) usually stays on the pages its conversation was about:
the documents of the top passages for the earlier question that stood on its own are preferred. The subject
words a condenser adds do not always lead back there ("quickest, share, files, quick test").
"""

from __future__ import annotations

import dataclasses

from rag_service.answering.base import ChatTurn
from rag_service.answering.condense import refers_back
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime

CONVERSATION_PASSAGES = 3  # of the earlier question's passages, whose documents a follow-up prefers


def follow_up_options(
    runtime: Runtime, collection: str, question: str, standalone: str, history: list[ChatTurn], options: SearchOptions
) -> SearchOptions:
    """`options` with the earlier question's documents preferred; unchanged for a question that stood alone."""
    earlier = [turn.content for turn in history if turn.role == "user" and turn.content.strip()]
    if standalone == question or not earlier or not runtime.settings.follow_up_document_bonus:
        return options
    anchor = next((q for q in reversed(earlier) if not refers_back(q)), earlier[0])
    plain = dataclasses.replace(options, prefer_documents=frozenset(), top_k=CONVERSATION_PASSAGES)
    documents = frozenset(hit.document_id for hit in retrieve(runtime, collection, anchor, plain))
    return dataclasses.replace(
        options, prefer_documents=documents, prefer_bonus=runtime.settings.follow_up_document_bonus
    )
