"""The reader registry: `RAG_READER` picks one. A new reader is one module with a class following
`base.Reader` plus one line in READERS.

`auto` is the bundled model in process when it is installed (the `reader` extra and llama-cpp-python), and no
reader otherwise: then the extractive rules alone decide, as `rag-service info` and `/api/backends` say.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from rag_service.answering.llamacpp import model_threads
from rag_service.answering.reader.base import Candidate, Reader, ReaderStatus, Verdict, candidates
from rag_service.answering.reader.llamacpp import LlamaCppReader
from rag_service.answering.reader.model import READER_LICENSE, bundled_reader_path, parts_installed
from rag_service.answering.reader.openai_compatible import OpenAIReader
from rag_service.settings import Settings


def _llamacpp(settings: Settings) -> Reader:
    path = settings.reader_model_path or str(bundled_reader_path(settings.model_cache_path))
    return LlamaCppReader(path, settings.llamacpp_n_ctx, model_threads(settings.reader_threads))


def _openai(settings: Settings) -> Reader:
    model = settings.reader_openai_model or settings.openai_model
    return OpenAIReader(settings.openai_base_url, model, settings.openai_api_key, settings.llm_timeout_seconds)


READERS: dict[str, Callable[[Settings], Reader]] = {
    "llamacpp": _llamacpp,
    "openai": _openai,
}


def reader_status(settings: Settings) -> ReaderStatus:
    """Which reader `RAG_READER` gives on this machine, and why (without loading a model)."""
    llama = importlib.util.find_spec("llama_cpp") is not None
    model = settings.reader_model_path or ("bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M" if parts_installed() else "")
    if settings.reader == "off":
        return ReaderStatus("off", False, "RAG_READER=off: the extractive rules decide alone")
    if settings.reader == "openai":
        return ReaderStatus("openai", True, "RAG_READER=openai", settings.reader_openai_model or settings.openai_model)
    if settings.reader == "llamacpp":
        return ReaderStatus("llamacpp", True, "RAG_READER=llamacpp", model, {"license": READER_LICENSE})
    if not llama:
        return ReaderStatus("off", False, "auto: llama-cpp-python is not installed, so the extractive rules decide")
    if not model:
        return ReaderStatus(
            "off",
            False,
            "auto: the reader model is not installed (pip install -e '.[reader]'), so the extractive rules decide",
        )
    threads = model_threads(settings.reader_threads)
    details = {"license": READER_LICENSE, "threads": threads}
    return ReaderStatus("llamacpp", True, "auto: the reader model is installed", model, details)


def build_reader(settings: Settings) -> Reader | None:
    status = reader_status(settings)
    return READERS[status.name](settings) if status.active else None


__all__ = ["READERS", "Candidate", "Reader", "ReaderStatus", "Verdict", "build_reader", "candidates", "reader_status"]
