"""Any OpenAI-compatible chat server (vLLM, LocalAI, Ollama's /v1, llama.cpp's server, OpenAI) via LangChain."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from rag_service.settings import Settings


def chat_model(settings: Settings) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key or "not-needed",
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_retries,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        streaming=True,
    )
