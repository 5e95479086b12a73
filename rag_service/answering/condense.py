"""Follow-up questions made standalone by rule, for answerers with no LLM to ask.

"How do I clear it?" after "What does functools.lru_cache do?" becomes
"How do I clear it? (functools.lru_cache)": the follow-up keeps its own words, which the answerer weighs
double, and gains the subject of the earlier turns, which retrieval needs to find the right page. A reader
model's rewrite gains the subject words it lacks the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from rag_service.answering.base import Answerer, ChatTurn
from rag_service.answering.terms import QUESTION_WORDS, content_terms
from rag_service.errors import BackendUnavailableError

Rewrite = Callable[[str, list[ChatTurn]], str]  # a reader model's rewrite of a follow-up (answering/reader/)

log = logging.getLogger(__name__)
MAX_STANDALONE_CHARS = 500
KEPT_TERMS_SHARE = 0.5  # of the follow-up's own content terms, which its rewrite must still hold

# Words that point back at an earlier turn: "it", "that one", "and on Windows?", "那怎么撤销？".
_REFERRING = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|he|she|one|ones|also|too|instead|same|either|other"
    r"|there|then|else|former|latter|such)\b"
    r"|^\s*(and|or|but|so|what about|how about|what if|why not)\b"
    r"|[它这那其该此]",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w.\-/'’]*\w|[\u3400-\u9fff]+")
_WORD_OR_GAP = re.compile(r"[\w.\-/'’]*\w|[\u3400-\u9fff]+|\s+|[^\w\s]+")
SHORT_QUESTION_WORDS = 6
SUBJECT_WORDS = 10


def refers_back(question: str) -> bool:
    """Points back at an earlier turn, or is too short to stand alone ("Windows?", but not "What is a reverse
    proxy?", which names its own subject)."""
    if _REFERRING.search(question):
        return True
    return len(question.split()) <= SHORT_QUESTION_WORDS and len(set(content_terms(question))) <= 1


def subject_words(questions: list[str], exclude: set[str]) -> list[str]:
    """What earlier questions were about, most recent question first: runs of their words in their own order,
    without function and question words or words the follow-up already has ("install Atlas", "Linux")."""
    runs: list[str] = []
    seen = set(exclude)
    taken = 0
    for earlier in reversed(questions):
        run: list[str] = []
        for match in _WORD_OR_GAP.finditer(earlier):
            word = match.group(0)
            key = word.lower()
            keep = bool(_WORD.fullmatch(word)) and not (
                key in QUESTION_WORDS or key in seen or _REFERRING.fullmatch(key) or len(key) < 2
            )
            if keep and taken < SUBJECT_WORDS:
                seen.add(key)
                run.append(word)
                taken += 1
            elif run and not word.isspace():
                runs.append(" ".join(run))
                run = []
        if run:
            runs.append(" ".join(run))
    return runs


def condense_by_rule(question: str, history: list[ChatTurn]) -> str:
    """Add the earlier turns' subject to a follow-up that refers back to them or is too short to stand alone."""
    if not refers_back(question):
        return question
    return with_subject(question, history)


def with_subject(question: str, history: list[ChatTurn]) -> str:
    """`question` with the subject words of its thread that it lacks, in brackets after it."""
    earlier = [turn.content for turn in history if turn.role == "user" and turn.content.strip()]
    if not earlier:
        return question
    # The thread this follow-up belongs to: back to the last question that stood on its own.
    start = len(earlier) - 1
    while start > 0 and refers_back(earlier[start]):
        start -= 1
    subject = subject_words(earlier[start:], {w.lower() for w in _WORD.findall(question)})
    return f"{question} ({', '.join(subject)})" if subject else question


def standalone_question(answerer: Answerer, rewrite: Rewrite | None, question: str, history: list[ChatTurn]) -> str:
    """The condense step: the question as retrieval and the answer should read it. The reader model rewrites a
    follow-up where one runs; else the answerer does (an LLM backend asks its model, the extractive one uses
    `condense_by_rule`). A question that does not refer back is left as it is."""
    if not history:
        return question
    if rewrite is not None and refers_back(question):
        try:
            rewritten = rewrite(question, history)[:MAX_STANDALONE_CHARS]
        except BackendUnavailableError as exc:
            log.warning("the reader could not rewrite the follow-up (%s); using the answerer", exc)
        else:
            if keeps_the_question(question, rewritten):
                # A rewrite often names what "it" was in a word of its own ("the cache", "the time limit") and
                # drops the thread's subject ("functools.lru_cache", "subprocess"), which retrieval needs: on the
                # dev conversations the rewrite alone found a relevant page in the top 5 for .89 of follow-ups,
                # with the subject added for all of them.
                return with_subject(rewritten, history)
            log.info("the reader's rewrite %r drops what %r asks; using the answerer", rewritten, question)
    return answerer.condense(question, history)


def keeps_the_question(question: str, rewritten: str) -> bool:
    """A rewrite adds what "it" refers to; it must keep what the follow-up itself asks. A small model sometimes
    answers instead, or invents a name ("gateway.max_requests_per_second" for a question about a rate limit)."""
    asked = set(content_terms(question))
    kept = asked & set(content_terms(rewritten))
    return bool(rewritten.strip()) and len(kept) >= KEPT_TERMS_SHARE * len(asked)
