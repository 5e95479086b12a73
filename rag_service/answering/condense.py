"""Follow-up questions made standalone by a simple rule, for answerers with no LLM to ask."""

from __future__ import annotations

import re

from rag_service.answering.base import ChatTurn

# Words that point back at an earlier turn: "it", "that one", "and on Windows?".
_REFERRING = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|one|ones|also|too|instead|same)\b"
    r"|^(and|or|but|what about|how about)\b"
    r"|[它这那其该]",
    re.IGNORECASE,
)
SHORT_QUESTION_WORDS = 6


def condense_by_rule(question: str, history: list[ChatTurn]) -> str:
    """Prefix the last user question when this one refers back to it or is too short to stand alone."""
    earlier = [turn.content for turn in history if turn.role == "user" and turn.content.strip()]
    if not earlier:
        return question
    if len(question.split()) <= SHORT_QUESTION_WORDS or _REFERRING.search(question):
        return f"{earlier[-1]} {question}"
    return question
