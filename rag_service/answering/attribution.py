"""Generated answers cited whatever the model does: each sentence attributed to the passage that supports it.

A small local model does not reliably write `[n]` after each sentence, so the markers are not taken on trust:
a sentence's marker stays where the cited passage supports the sentence (holds most of its content words, or
the code it shows), is moved to the passage that does, or is added where the model wrote none. A sentence no
passage supports is reported as unsupported, and marked so in the API and the UI.

Also: `renumber`, for an answerer that was given a subset of the passages (the ones the reader kept), maps its
markers back to the numbers the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag_service.answering.citations import cited_numbers, strip_markers
from rag_service.passages import Hit
from rag_service.stores.lexical_index import index_terms

SUPPORT = 0.6  # share of a sentence's content words one passage must hold
MIN_TERMS = 3  # shorter sentences ("Yes.", "Run this:") are carried by their neighbours
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_PIECE = re.compile(r"```.*?(?:```|$)|[^\n]+", re.DOTALL)
_BOUNDARY = re.compile(r"[.!?。！？](?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*(?=\s+\S)")
_CODE_LINE = re.compile(r"`([^`]{3,})`")


@dataclass
class Attribution:
    answer: str
    unsupported: list[str] = field(default_factory=list)  # sentences no passage supports, markers removed
    added: int = 0  # markers added or moved
    supported: int = 0  # sentences attributed


def _sentences(answer: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence with the markers after its full stop; a code block is one."""
    for piece in _PIECE.finditer(answer):
        text = piece.group(0)
        if text.startswith("```"):
            yield piece.span()
            continue
        start = 0
        for boundary in _BOUNDARY.finditer(text):
            yield piece.start() + start, piece.start() + boundary.end()
            start = boundary.end()
        yield piece.start() + start, piece.end()


def support(sentence: str, passage_terms: set[str], passage_text: str) -> float:
    """How much of `sentence` the passage holds: its content words (stemmed as BM25 indexes them), and code
    in backticks or a code block, which must appear as written."""
    plain = strip_markers(sentence).strip()
    if plain.startswith("```"):
        lines = [line.strip() for line in plain.strip("`").splitlines()[1:] if line.strip()]
        return sum(line in passage_text for line in lines) / len(lines) if lines else 0.0
    terms = set(index_terms(plain))
    if not terms:
        return 0.0
    share = len(terms & passage_terms) / len(terms)
    codes = _CODE_LINE.findall(plain)
    if codes and not all(code in passage_text for code in codes):
        share = min(share, SUPPORT - 0.01)  # a command the passage does not show is not supported by it
    return share


def attribute(answer: str, passages: list[Hit]) -> Attribution:
    terms = [set(index_terms(p.text + " " + p.heading_path)) for p in passages]
    result = Attribution(answer)
    pieces: list[str] = []
    cursor = 0
    for start, end in _sentences(answer):
        pieces.append(answer[cursor:start])
        sentence = answer[start:end]
        cursor = end
        plain = strip_markers(sentence).rstrip()
        if not plain.strip() or (len(set(index_terms(plain))) < MIN_TERMS and not plain.lstrip().startswith("```")):
            pieces.append(sentence)
            continue
        scores = [support(sentence, t, p.text) for t, p in zip(terms, passages, strict=True)]
        cited = [n for n in cited_numbers(sentence) if 1 <= n <= len(passages)]
        if any(scores[n - 1] >= SUPPORT for n in cited):
            pieces.append(sentence)
            result.supported += 1
            continue
        best = max(range(len(passages)), key=lambda i: scores[i], default=None)
        if best is not None and scores[best] >= SUPPORT:
            pieces.append(_with_marker(plain, best + 1))
            result.added += 1
            result.supported += 1
        else:
            pieces.append(plain)
            result.unsupported.append(plain.strip())
    pieces.append(answer[cursor:])
    result.answer = "".join(pieces)
    return result


def _with_marker(sentence: str, n: int) -> str:
    """ "... message [1]." rather than "... message. [1]", as the prompt asks the model to write them."""
    if sentence and sentence[-1] in ".!?。！？" and not sentence.rstrip().endswith("```"):
        return f"{sentence[:-1].rstrip()} [{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


class Renumbering:
    """Markers of an answer written over `kept` passages (1-based numbers in the full list, in the order the
    answerer was given them), mapped back to the full list's numbers as the text streams: a marker cut between
    two pieces is held back until it closes."""

    def __init__(self, kept: list[int]) -> None:
        self.kept = kept
        self.pending = ""

    def _map(self, match: re.Match[str]) -> str:
        numbers = [int(part) for part in match.group(1).split(",")]
        mapped = [str(self.kept[n - 1]) if 1 <= n <= len(self.kept) else "0" for n in numbers]  # 0: dropped later
        return f"[{', '.join(mapped)}]"

    def feed(self, piece: str) -> str:
        text = self.pending + piece
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut <= 16:
            text, self.pending = text[:cut], text[cut:]
        else:
            self.pending = ""
        return _MARKER.sub(self._map, text)

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return _MARKER.sub(self._map, text)
