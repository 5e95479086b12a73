"""The answerer registry: `RAG_ANSWERER` (or a request's `llm.backend`) picks one by name.

A new backend is one module that builds an `Answerer` (for a LangChain chat model, wrap it in
ChatModelAnswerer) plus one line in ANSWERERS.
"""

from __future__ import annotations

from collections.abc import Callable

from rag_service.answering.base import Answerer
from rag_service.answering.chat import ChatModelAnswerer
from rag_service.answering.extractive import ExtractiveAnswerer
from rag_service.answering.llamacpp import LlamaCppChatModel, bundled_model_path
from rag_service.answering.openai_compatible import chat_model as openai_chat_model
from rag_service.errors import InvalidInputError
from rag_service.settings import Settings


def _extractive(settings: Settings) -> Answerer:
    return ExtractiveAnswerer(settings.extractive_min_score, settings.extractive_max_sentences)


def _llamacpp(settings: Settings) -> Answerer:
    path = settings.llamacpp_model_path or bundled_model_path()
    model = LlamaCppChatModel(
        model_path=path,
        n_ctx=settings.llamacpp_n_ctx,
        n_threads=settings.llamacpp_threads,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
    return ChatModelAnswerer("llamacpp", model, path)


def _openai(settings: Settings) -> Answerer:
    return ChatModelAnswerer("openai", openai_chat_model(settings), settings.openai_base_url)


ANSWERERS: dict[str, Callable[[Settings], Answerer]] = {
    "extractive": _extractive,
    "llamacpp": _llamacpp,
    "openai": _openai,
}

# Request-level overrides (`--llm-base-url`, the API's `llm: {...}`) and the settings they replace.
OVERRIDABLE = {
    "base_url": "openai_base_url",
    "model": "openai_model",
    "api_key": "openai_api_key",
    "model_path": "llamacpp_model_path",
    "timeout": "llm_timeout_seconds",
    "max_tokens": "llm_max_tokens",
    "temperature": "llm_temperature",
}


def build_answerer(settings: Settings, backend: str | None = None, overrides: dict | None = None) -> Answerer:
    name = backend or settings.answerer
    if name not in ANSWERERS:
        raise InvalidInputError(f"unknown answer backend {name!r}; choose one of: {', '.join(ANSWERERS)}")
    updates = {}
    for key, value in (overrides or {}).items():
        if key not in OVERRIDABLE:
            raise InvalidInputError(f"unknown llm option {key!r}; known: {', '.join(OVERRIDABLE)}")
        if value is not None:
            updates[OVERRIDABLE[key]] = value
    return ANSWERERS[name](settings.model_copy(update=updates) if updates else settings)


__all__ = ["ANSWERERS", "Answerer", "build_answerer"]
