"""The answerer registry: `RAG_ANSWERER` (or a request's `llm.backend`, within the caller's policy) picks one.

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
from rag_service.answering.policy import TRUSTED, LlmPolicy, NotAllowedError, normalise_url
from rag_service.errors import InvalidInputError
from rag_service.settings import Settings


def _extractive(settings: Settings) -> Answerer:
    return ExtractiveAnswerer()


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


def build_answerer(
    settings: Settings, backend: str | None = None, overrides: dict | None = None, *, policy: LlmPolicy
) -> Answerer:
    """The one place answerers are built: `policy` says what this caller may choose (TRUSTED for the CLI,
    `LlmPolicy.from_settings` for API callers)."""
    name = backend or settings.answerer
    if name not in ANSWERERS:
        raise InvalidInputError(f"unknown answer backend {name!r}; choose one of: {', '.join(ANSWERERS)}")
    options = {key: value for key, value in (overrides or {}).items() if value is not None}
    for key in options:
        if key not in OVERRIDABLE:
            raise InvalidInputError(f"unknown llm option {key!r}; known: {', '.join(OVERRIDABLE)}")
    options = policy.check(name, options)
    updates = {OVERRIDABLE[key]: value for key, value in options.items()}
    base_url = options.get("base_url")
    if (
        isinstance(base_url, str)
        and "api_key" not in options
        and normalise_url(base_url) != normalise_url(settings.openai_base_url)
    ):
        updates["openai_api_key"] = ""  # the server's credential is for its configured server only
    return ANSWERERS[name](settings.model_copy(update=updates) if updates else settings)


__all__ = ["ANSWERERS", "TRUSTED", "Answerer", "LlmPolicy", "NotAllowedError", "build_answerer"]
