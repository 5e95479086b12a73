"""The default answerer: no model, milliseconds. Quotes the sentences of the top passages that best match
the question, each with its citation, or says the documents do not hold the answer."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag_service.answering.base import NOT_FOUND_ANSWER, AnswerRequest, ChatTurn
from rag_service.answering.condense import condense_by_rule
from rag_service.retrieval import Hit
from rag_service.stores.lexical_index import tokenize

_SENTENCE_BREAK = re.compile(r"(?<=[.!?。！？])\s+|\n\s*\n|\n(?=\s*(?:[-*+•]|\d+\.)\s)|(?<=::)\n")
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_TOKENS = 3
PASSAGE_WEIGHT = 0.3  # how much the passage's retrieval score counts beside the sentence's own match
RANK_PENALTY = 0.02
RELATIVE_CUTOFF = 0.6  # a sentence scoring under this share of the best one adds noise, not answer
# Capitalised names (Gitea, GitHub, LFS) that do not start a sentence.
_NAME = re.compile(r"(?<![\w.\-/])([A-Z][a-z0-9]*[A-Z][A-Za-z0-9]*|[A-Z]{2,}[a-z]*|[A-Z][a-z0-9]+)(?![\w])")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)[\"'(]*$")


def split_sentences(text: str) -> list[str]:
    sentences = []
    for piece in _SENTENCE_BREAK.split(text):
        # Continuation and bullet marks (AsciiDoc's "+", Markdown's "*") are layout, not content.
        sentence = " ".join(piece.split()).lstrip("+*• ")
        if sentence:
            sentences.append(sentence[:MAX_SENTENCE_CHARS])
    return sentences


def unmentioned_names(question: str, passages: list[Hit]) -> list[str]:
    """Names the question asks about that no passage mentions: then the passages cannot hold the answer."""
    text = " ".join(f"{hit.path} {hit.heading_path} {hit.text}" for hit in passages).lower()
    names = [
        match.group(1)
        for match in _NAME.finditer(question)
        if not _SENTENCE_START.search(question[: match.start()]) and match.group(1) != "I"
    ]
    return [name for name in names if name.lower() not in text]


def relevance(hit: Hit) -> float:
    """How well a passage matches the question, on the dense cosine scale when there is one."""
    return hit.dense_score if hit.dense_score is not None else hit.score


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, min_score: float, max_sentences: int) -> None:
        self.min_score = min_score
        self.max_sentences = max_sentences

    def describe(self) -> str:
        return "extractive (built in)"

    def condense(self, question: str, history: list[ChatTurn]) -> str:
        return condense_by_rule(question, history)

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        yield self.answer(request)

    def answer(self, request: AnswerRequest) -> str:
        passages = request.passages
        if not passages or max(relevance(hit) for hit in passages) < self.min_score:
            return NOT_FOUND_ANSWER
        if unmentioned_names(request.question, passages):
            return NOT_FOUND_ANSWER
        weights = question_weights(request.question, request.asked)
        if not weights:
            return NOT_FOUND_ANSWER
        total = sum(weights.values())
        scored: list[tuple[float, int, int, str]] = []
        for n, hit in enumerate(passages, start=1):
            title = hit.heading_path
            for position, sentence in enumerate(split_sentences(hit.text)):
                if sentence.startswith("## "):  # a section title inside a merged passage
                    title = sentence[3:]
                    continue
                tokens = set(tokenize(sentence))
                # Headings, and questions in the text (FAQ entries), restate the question rather than answer it.
                if (
                    len(tokens) < MIN_SENTENCE_TOKENS
                    or sentence.startswith("#")
                    or sentence.rstrip(":").endswith(("?", "？"))
                ):
                    continue
                # A sentence is also about its section's title: "Double-click Setup.msi" under "Windows".
                matched = (tokens | set(tokenize(title))) & weights.keys()
                if not matched:
                    continue
                overlap = sum(weights[token] for token in matched) / total
                score = overlap + PASSAGE_WEIGHT * relevance(hit) - RANK_PENALTY * n
                scored.append((score, n, position, sentence))
        if not scored:
            first = split_sentences(passages[0].text)
            return f"{first[0]} [1]" if first else NOT_FOUND_ANSWER
        ranked = sorted(scored, key=lambda item: -item[0])
        best = [item for item in ranked[: self.max_sentences] if item[0] >= RELATIVE_CUTOFF * ranked[0][0]]
        best.sort(key=lambda item: (item[1], item[2]))  # read in document order
        return " ".join(f"{sentence} [{n}]" for _, n, _, sentence in best)


def question_weights(standalone: str, asked: str) -> dict[str, float]:
    """Question words to look for; in a condensed follow-up, the words the user just typed count double."""
    weights = dict.fromkeys(tokenize(standalone), 1.0)
    for token in tokenize(asked):
        if token in weights and asked != standalone:
            weights[token] = 2.0
    return weights
