"""Citations: `[n]` markers in an answer, checked against the passages given and mapped to files and lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag_service.retrieval import Hit, describe_location

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_DECLINE = re.compile(
    r"(i (do not|don't|cannot|can't) (know|find|answer)"
    r"|not (found|mentioned|covered|stated) in the (documents|passages|context)"
    r"|(documents|passages|context) (do|does) not (say|contain|mention|answer|provide)|no information|could not find"
    r"|没有找到|无法回答|不知道)",
    re.IGNORECASE,
)
QUOTE_CHARS = 240


@dataclass
class Citation:
    n: int
    path: str
    chunk_id: int
    quote: str
    page: int | None = None
    start_line: int | None = None
    end_line: int | None = None

    def to_dict(self) -> dict:
        data = {"n": self.n, "path": self.path, "chunk_id": self.chunk_id, "quote": self.quote}
        if self.page is not None:
            data["page"] = self.page
        else:
            data["start_line"], data["end_line"] = self.start_line, self.end_line
        return data

    def location(self) -> str:
        return describe_location(self.path, self.page, self.start_line, self.end_line)


def cited_numbers(answer: str) -> list[int]:
    """The passage numbers an answer cites, in order of first appearance; `[1, 3]` counts as 1 and 3."""
    numbers: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in numbers:
                numbers.append(n)
    return numbers


def remove_invalid_markers(answer: str, passage_count: int) -> str:
    """Drop markers that cite a passage that was not given (`[5]` when four were)."""

    def keep_valid(match: re.Match[str]) -> str:
        valid = [p.strip() for p in match.group(1).split(",") if 1 <= int(p) <= passage_count]
        return f"[{', '.join(valid)}]" if valid else ""

    return _MARKER.sub(keep_valid, answer)


def build_citations(answer: str, passages: list[Hit]) -> list[Citation]:
    citations = []
    for n in cited_numbers(answer):
        if 1 <= n <= len(passages):
            hit = passages[n - 1]
            quote = " ".join(hit.text.split())
            citations.append(
                Citation(
                    n=n,
                    path=hit.path,
                    chunk_id=hit.chunk_id,
                    quote=quote[:QUOTE_CHARS] + ("…" if len(quote) > QUOTE_CHARS else ""),
                    page=hit.page,
                    start_line=hit.start_line,
                    end_line=hit.end_line,
                )
            )
    return citations


def is_decline(answer: str) -> bool:
    """The answer says the documents do not hold the answer."""
    return bool(_DECLINE.search(answer[:300]))
