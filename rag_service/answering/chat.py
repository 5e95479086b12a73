"""An answerer over any LangChain chat model: the llamacpp and openai backends, and any further one."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel

from rag_service.answering.base import AnswerRequest, ChatTurn
from rag_service.answering.condense import condense_by_rule
from rag_service.answering.prompt import build_condense_messages, build_messages
from rag_service.errors import BackendUnavailableError

log = logging.getLogger(__name__)
MAX_CONDENSED_CHARS = 500


class ChatModelAnswerer:
    generative = True

    def __init__(self, name: str, chat_model: BaseChatModel, where: str) -> None:
        self.name = name
        self.chat_model = chat_model
        self.where = where

    def describe(self) -> str:
        return f"{self.name} at {self.where}"

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        messages = build_messages(request.question, request.passages, request.history)
        try:
            for chunk in self.chat_model.stream(messages):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except BackendUnavailableError:
            raise
        except Exception as exc:  # every client library has its own errors; the user needs which backend failed
            raise BackendUnavailableError(f"{self.describe()} failed: {type(exc).__name__}: {exc}") from exc

    def condense(self, question: str, history: list[ChatTurn]) -> str:
        if not history:
            return question
        try:
            reply = self.chat_model.invoke(build_condense_messages(question, history))
        except Exception as exc:  # retrieval can go on with the rule; the answer step reports the backend
            log.warning("%s could not condense the question (%s); using the rule", self.describe(), exc)
            return condense_by_rule(question, history)
        text = reply.content.strip() if isinstance(reply.content, str) else ""
        text = text.splitlines()[0].strip().strip('"') if text else ""
        return text[:MAX_CONDENSED_CHARS] if text else condense_by_rule(question, history)
