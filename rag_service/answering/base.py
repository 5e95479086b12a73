"""The answerer interface: passages and a question in, answer text out as a stream of pieces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from rag_service.retrieval import Hit

NOT_FOUND_ANSWER = "I could not find the answer in the documents."
NOT_FOUND_ANSWER_ZH = "文档中没有找到答案。"
_CJK = re.compile(r"[\u3400-\u9fff]")


def not_found_answer(question: str) -> str:
    """The decline, in the question's language."""
    return NOT_FOUND_ANSWER_ZH if _CJK.search(question) else NOT_FOUND_ANSWER


@dataclass
class ChatTurn:
    role: str  # user | assistant
    content: str


@dataclass
class AnswerRequest:
    question: str  # standalone: a follow-up has already been condensed
    passages: list[Hit]  # numbered [1]..[n] in this order
    history: list[ChatTurn] = field(default_factory=list)
    asked: str = ""  # what the user typed, before condensation
    term_weights: dict[str, float] | None = None  # content term → weight by its rarity in the collection

    def __post_init__(self) -> None:
        self.asked = self.asked or self.question


class Answerer(Protocol):
    name: str

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer in pieces as they come; `[n]` markers cite passages[n-1]."""
        ...

    def condense(self, question: str, history: list[ChatTurn]) -> str:
        """Rewrite a follow-up question as a standalone one, for retrieval."""
        ...

    def describe(self) -> str:
        """Backend and where it runs, for error messages: `openai at http://...`."""
        ...
