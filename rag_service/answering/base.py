"""The answerer interface: passages and a question in, answer text out as a stream of pieces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from rag_service.passages import Hit

NOT_FOUND_ANSWER = "I could not find the answer in the documents."
NOT_FOUND_ANSWER_ZH = "文档中没有找到答案。"
_CJK = re.compile(r"[\u3400-\u9fff]")


PARTIAL_ANSWER = (
    "The documents may not answer this: the closest passages below are about it, but none states what you asked."
)
PARTIAL_ANSWER_ZH = "文档可能没有回答这个问题：下面最接近的段落与之相关，但没有一段直接说明。"


def not_found_answer(question: str) -> str:
    """The decline, in the question's language."""
    return NOT_FOUND_ANSWER_ZH if _CJK.search(question) else NOT_FOUND_ANSWER


def partial_answer(question: str) -> str:
    """What a partial answer says above the closest passages, in the question's language."""
    return PARTIAL_ANSWER_ZH if _CJK.search(question) else PARTIAL_ANSWER


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
    # The sentence a reader chose as stating the answer: (passage number, unit index in extractive.split_units)
    focus: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.asked = self.asked or self.question


class Answerer(Protocol):
    name: str
    # Writes text of its own (an LLM): it is given only the passages the reader kept, and its sentences are
    # attributed afterwards. An answerer that quotes (extractive) is given every passage and cited as it quotes.
    generative: bool

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer in pieces as they come; `[n]` markers cite passages[n-1]."""
        ...

    def condense(self, question: str, history: list[ChatTurn]) -> str:
        """Rewrite a follow-up question as a standalone one, for retrieval."""
        ...

    def describe(self) -> str:
        """Backend and where it runs, for error messages: `openai at http://...`."""
        ...
