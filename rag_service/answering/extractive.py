"""The default answerer: no model, milliseconds. It quotes the best contiguous excerpt of the best passage
(a few sentences, or a command or configuration block with the sentence that introduces it), and at most one
more excerpt from another passage when that one covers a different part of the question. From a spreadsheet it
states the row the question picks out, with its sheet, row number and columns (sheets.py), not the whole table.

Whether to answer at all is decided before this runs, for every backend alike (`answering/evidence.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.loaders.tables import DELIMITER_ROW
from rag_service.answering.base import AnswerRequest, ChatTurn, not_found_answer
from rag_service.answering.citations import strip_markers
from rag_service.answering.condense import condense_by_rule
from rag_service.answering.sheets import is_sheet, sheet_answer
from rag_service.answering.terms import content_terms, default_term, is_how_to, normalise_term
from rag_service.passages import Hit

_SENTENCE_BREAK = re.compile(r"(?<=[.!?。！？])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)\s+(?=\S)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LISTING_DELIMITER = re.compile(r"^(-{4,}|\.{4,}|={4,}|\+{4,})\s*$")  # AsciiDoc listing/literal blocks
# Lines that read as a command or configuration rather than prose.
_CODE_LINE = re.compile(
    r"^(\s{2,}|\t)\S"  # indented
    r"|^\s*[$#>%] \S"  # a shell or REPL prompt
    r"|^\s*>>> "
    r"|^\s*[\w.\-\[\]]+\s*[:=]\s*\S+\s*$"  # key = value, key: value
    r"|^\s*[\w\-]+(\s+-{1,2}[\w\-]+)+"  # a command with options
    r"|^\s*[{}\[\]<]"
)
# Lines that are markup, not content: AsciiDoc anchors and attributes, directives, continuation marks.
_MARKUP_LINE = re.compile(r"^(\[\[[^\]]*\]\]|\[[\w\s,.=\"'#-]*\]|(ifn?def|endif|include)::\S*\[.*\]|\+)$")
# A Markdown table: rows with cells, the second a rule ("---|---"); kept whole, like code.
_TABLE_ROW = re.compile(r"^\s*\|?[^|\n]*\|.*$")
# A definition-list term: "--sendmail-cmd=<command>::", "`GIT_DIR`::", "core.editor;;".
_TERM = re.compile(r"^\S(?:[^ ]| (?=[<\[(-]))*(::|;;)\s*$|^[-`'*].{0,78}::\s*$")
_QUESTION_TERM = re.compile(r"^\S.{0,150}\?(::|;;)\s*$")
_SENTENCE_END = re.compile(r"[a-z)`'\"][.;,]( |$)")
WHOLE = ("code", "table", "row")  # units an excerpt takes whole or not at all, never cut into sentences
MAX_EXCERPT_LINES = 12
MAX_EXCERPT_CHARS = 900
MAX_PROSE_UNITS = 3  # sentences or list items around the best one
DESCRIPTION_UNITS = 5  # an option's description, from its first sentence to the best one, may take this many
PASSAGES_CONSIDERED = 3
RANK_PENALTY = 0.1
RELEVANCE_WEIGHT = 0.25
TIE_BREAK = 0.1  # among units matching as much with their section title, the one matching by itself wins
FOLLOW_WEIGHT = 0.3  # what the sentences after the best one add to the question's coverage
CODE_BONUS = 0.1  # a how-to question is best answered by the command or example next to its explanation
SECOND_EXCERPT_GAIN = 0.25  # share of the question's weight a second excerpt adds: another part of the answer
SECOND_EXCERPT_SHARE = 0.6  # or nearly as good a match as the first: the answer may well be there instead
REPEAT_SHARE = 0.6  # a second excerpt sharing this share of its words with the first adds nothing
MIN_UNIT_TOKENS = 2
DEFAULT_SHARE = 1.0  # "default", in a question that asks for one without the word, weighs as its rarest term


@dataclass
class Unit:
    """A piece of a passage that an excerpt takes whole: a sentence, a list item, a title or a code block."""

    text: str
    kind: str  # prose | item | title | term | code | table | row (of a long table, under its header) | cells
    # (a spreadsheet's row stated with its sheet, number and columns: sheets.py)
    paragraph: int  # units of one paragraph are joined by spaces, paragraphs by blank lines
    terms: frozenset[str] = frozenset()
    section: frozenset[str] = frozenset()  # terms of the title it stands under inside the passage


def split_units(text: str) -> list[Unit]:
    """A passage as units in reading order; code blocks, fenced or indented or line-by-line, stay whole."""
    units: list[Unit] = []
    lines = text.splitlines()
    paragraph = 0
    prose: list[str] = []

    def flush_prose() -> None:
        nonlocal paragraph
        if not prose:
            return
        joined = " ".join(" ".join(line.split()) for line in prose)
        for sentence in _SENTENCE_BREAK.split(joined):
            if sentence.strip():
                units.append(Unit(sentence.strip(), "prose", paragraph))
        prose.clear()
        paragraph += 1

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or _MARKUP_LINE.match(stripped):
            flush_prose()
            i += 1
            continue
        fenced = bool(_FENCE.match(line))
        if fenced or _LISTING_DELIMITER.match(line):
            flush_prose()
            # A fence closes with the same three characters; an AsciiDoc delimiter with the same whole line.
            opener = stripped[:3] if fenced else stripped
            block = [line]
            i += 1
            while i < len(lines):
                closing = lines[i].strip()
                block.append(lines[i])
                i += 1
                if closing.startswith(opener) if fenced else closing == opener:
                    break
            # An AsciiDoc delimiter may close a listing that began in the previous chunk: prose follows it.
            inner = block[1:-1] if len(block) > 2 else block[1:]
            if not fenced and inner and reads_as_prose(inner):
                prose.extend(inner)
                flush_prose()
                continue
            units.append(Unit("\n".join(block), "code", paragraph))
            paragraph += 1
            continue
        if re.match(r"^#{1,6} ", line):
            flush_prose()
            units.append(Unit(stripped.lstrip("#").strip(), "title", paragraph))
            paragraph += 1
            i += 1
            continue
        if _LIST_ITEM.match(line):
            flush_prose()
            item = [stripped]
            i += 1
            while i < len(lines) and lines[i].strip() and not _LIST_ITEM.match(lines[i]):
                if _CODE_LINE.match(lines[i]) and not lines[i].startswith("  "):
                    break
                item.append(lines[i].strip())
                i += 1
            units.append(Unit(" ".join(item), "item", paragraph))
            continue
        if _TABLE_ROW.match(line) and i + 1 < len(lines) and DELIMITER_ROW.match(lines[i + 1]):
            flush_prose()
            block = []
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                block.append(lines[i].rstrip())
                i += 1
            if len(block) <= MAX_EXCERPT_LINES:
                units.append(Unit("\n".join(block), "table", paragraph))
            else:  # a long table (a sheet): each row is quoted under the header it needs to be read
                head = block[:2]
                units.extend(Unit("\n".join([*head, row]), "row", paragraph) for row in block[2:])
            paragraph += 1
            continue
        if _QUESTION_TERM.match(line):
            # An FAQ's question as a list term ("How do I ignore changes to a tracked file?::") titles its answer.
            flush_prose()
            units.append(Unit(stripped.rstrip(":;"), "title", paragraph))
            paragraph += 1
            i += 1
            continue
        if _TERM.match(line):
            flush_prose()
            units.append(Unit(stripped, "term", paragraph))
            i += 1
            continue
        if _CODE_LINE.match(line) and not prose:
            block = [line]
            i += 1
            # A definition term starts the next entry, even with no blank line before it ("-x::" reads as key: value).
            while (
                i < len(lines)
                and lines[i].strip()
                and (_CODE_LINE.match(lines[i]) or lines[i].startswith(" "))
                and not _TERM.match(lines[i])
            ):
                block.append(lines[i])
                i += 1
            if reads_as_prose(block):  # an indented description (AsciiDoc, man pages), not an example
                prose.extend(block)
                if block[-1].rstrip().endswith(":"):
                    flush_prose()
                continue
            units.append(Unit("\n".join(block).strip("\n"), "code", paragraph))
            paragraph += 1
            continue
        prose.append(line)
        # A line that introduces an example ends its paragraph.
        if stripped.endswith(("::", ":")):
            flush_prose()
        i += 1
    flush_prose()
    result: list[Unit] = []
    section: frozenset[str] = frozenset()
    for unit in units:
        terms = frozenset(content_terms(unit.text))
        if unit.kind == "title":
            section = terms
        result.append(Unit(unit.text, unit.kind, unit.paragraph, terms, section))
    return result


def reads_as_prose(block: list[str]) -> bool:
    """An indented block of sentences (mostly letters, several words a line, sentence punctuation)."""
    text = " ".join(line.strip() for line in block)
    if not text or re.match(r"^([$#>%] |>>> )", text):
        return False
    letters = sum(c.isalpha() or c.isspace() for c in text) / len(text)
    words_per_line = len(text.split()) / len(block)
    return letters >= 0.82 and words_per_line >= 5 and bool(_SENTENCE_END.search(text))


@dataclass
class Excerpt:
    passage: int  # 1-based, the citation number
    units: list[Unit]
    covered: frozenset[str]
    score: float

    def overlaps(self, other: Excerpt) -> bool:
        return self.passage == other.passage and any(unit in other.units for unit in self.units)

    def render(self) -> str:
        parts: list[str] = []
        previous: Unit | None = None
        for unit in self.units:
            text = unit.text
            if unit.kind == "code" and not _FENCE.match(text):
                text = "```\n" + _dedent(_without_delimiters(text)) + "\n```"
            if unit.kind == "item" and not _LIST_ITEM.match(text):
                text = f"- {text}"
            if previous is not None and previous.kind == "prose" == unit.kind and previous.paragraph == unit.paragraph:
                parts[-1] += " " + text
            else:
                parts.append(text)
            previous = unit
        return "\n\n".join(parts)


def _plain(text: str) -> str:
    """A unit's words, without fences: the same text quoted in an earlier answer compares equal."""
    return " ".join(word for word in text.split() if not _FENCE.match(word))


def _without_delimiters(text: str) -> str:
    """An AsciiDoc listing without its ---- lines: the fence replaces them."""
    lines = text.splitlines()
    if len(lines) > 2 and _LISTING_DELIMITER.match(lines[0]) and lines[-1].strip() == lines[0].strip():
        return "\n".join(lines[1:-1])
    return text


def _dedent(text: str) -> str:
    lines = text.splitlines()
    inner = [line for line in lines if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in inner), default=0)
    return "\n".join(line[indent:] for line in lines)


def _lines(units: list[Unit]) -> int:
    return sum(unit.text.count("\n") + 1 for unit in units)


def _chars(units: list[Unit]) -> int:
    return sum(len(unit.text) for unit in units)


class ExtractiveAnswerer:
    name = "extractive"
    generative = False

    def describe(self) -> str:
        return "extractive (built in)"

    def condense(self, question: str, history: list[ChatTurn]) -> str:
        return condense_by_rule(question, history)

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        yield self.answer(request)

    def answer(self, request: AnswerRequest) -> str:
        weights = question_weights(request.question, request.asked, request.term_weights)
        if not weights or not request.passages:
            return not_found_answer(request.asked)
        # What earlier answers quoted is not quoted again ("And on Windows?" wants more than the Linux steps), unless
        # it holds everything the follow-up itself asks: "What is its default value?" after an answer that gave it
        # is answered by that sentence, not by another setting's default further down.
        asked = frozenset(content_terms(request.asked)) if request.asked != request.question else frozenset()
        said_before = {
            _plain(unit.text)
            for turn in request.history
            if turn.role == "assistant"
            for unit in split_units(strip_markers(turn.content))
            if not (asked and asked <= unit.terms)
        }
        how_to = is_how_to(request.asked) or is_how_to(request.question)
        focused = None
        if request.focus is not None and 1 <= request.focus[0] <= len(request.passages):
            n, unit = request.focus
            hit = request.passages[n - 1]
            focused = sheet_excerpt(n, hit, weights, set()) or best_excerpt(n, hit, weights, how_to, set(), anchor=unit)
        candidates = []
        for n, hit in enumerate(request.passages[:PASSAGES_CONSIDERED], start=1):
            excerpt = sheet_excerpt(n, hit, weights, said_before) or best_excerpt(n, hit, weights, how_to, said_before)
            if excerpt is not None:
                candidates.append(excerpt)
        if not candidates:
            return f"{focused.render()} [{focused.passage}]" if focused else not_found_answer(request.asked)
        candidates.sort(key=lambda e: -e.score)
        chosen = [candidates[0]]
        total = sum(weights.values())
        first_words = set(_plain(chosen[0].render()).split())
        for other in candidates[1:]:
            gain = math.fsum(weights[t] for t in other.covered - chosen[0].covered) / total
            close = other.score >= SECOND_EXCERPT_SHARE * chosen[0].score
            words = set(_plain(other.render()).split())
            repeats = len(words & first_words) >= REPEAT_SHARE * len(words)  # the same example, shown twice
            if other.passage != chosen[0].passage and not repeats and (gain >= SECOND_EXCERPT_GAIN or close):
                chosen.append(other)
                break
        chosen.sort(key=lambda e: e.passage)
        if focused is not None and not any(focused.overlaps(excerpt) for excerpt in chosen):
            # The sentence a reader judged to state the answer goes first, and the rules' best match stays beside
            # it: on the dev sets each held evidence the other missed (the #23 note).
            chosen = [focused, candidates[0]]
        return "\n\n".join(f"{excerpt.render()} [{excerpt.passage}]" for excerpt in chosen)


def question_weights(standalone: str, asked: str, term_weights: dict[str, float] | None = None) -> dict[str, float]:
    """Question terms to look for, weighted by rarity in the collection when known. In a condensed follow-up
    the terms the user just typed say what is asked now and count double; the earlier turns' subject only says
    where to look and counts half. A question asking for a default without the word ("if I don't pass one")
    looks for "default" too."""
    asked_terms = set(content_terms(asked))
    follow_up = asked != standalone
    weights: dict[str, float] = {}
    for term in content_terms(standalone):
        weight = (term_weights or {}).get(term, 1.0)
        if follow_up:
            weight *= 2.0 if term in asked_terms else 0.5
        if weight > 0:
            weights[term] = weight
    default = default_term(asked)
    if default is not None and weights:
        weights.setdefault(normalise_term(default), DEFAULT_SHARE * max(weights.values()))
    return weights


def usable_unit(unit: Unit, said_before: set[str]) -> bool:
    """A unit an excerpt may start from: not a title or term, not quoted in an earlier answer, not a question."""
    if unit.kind in ("title", "term") or _plain(unit.text) in said_before:
        return False
    if unit.kind in WHOLE:
        return True
    # Questions in the text (FAQ entries) restate the question rather than answer it.
    return len(unit.terms) >= MIN_UNIT_TOKENS and not unit.text.rstrip(":").endswith(("?", "？"))


def score_units(
    units: list[Unit], heading_path: str, weights: dict[str, float], how_to: bool, said_before: set[str]
) -> list[tuple[float, int]]:
    """(score, index) of each unit that could answer: the question's weighted terms it holds with the title it
    stands under, a little for its own, and for a how-to question a bonus where it shows an example."""
    title_terms = frozenset(normalise_term(t) for t in content_terms(heading_path))
    total = sum(weights.values())

    def coverage(terms: frozenset[str]) -> float:
        return math.fsum(weights.get(t, 0.0) for t in terms) / total

    def shows_example(index: int) -> bool:
        unit = units[index]
        follows = index + 1 < len(units) and units[index + 1].kind in WHOLE
        return unit.kind in WHOLE or (follows and unit.text.rstrip().endswith(":"))

    return [
        (
            coverage(unit.terms | (unit.section or title_terms))
            + TIE_BREAK * coverage(unit.terms)
            + (CODE_BONUS if how_to and shows_example(index) else 0.0),
            index,
        )
        for index, unit in enumerate(units)
        if usable_unit(unit, said_before) and (unit.terms | unit.section) & weights.keys()
    ]


def best_excerpt(
    n: int, hit: Hit, weights: dict[str, float], how_to: bool, said_before: set[str], anchor: int | None = None
) -> Excerpt | None:
    """The unit of one passage that matches the question best (or the unit `anchor`, which a reader chose),
    read on for a few sentences within its section (or to the end of the example it introduces), with the term
    an option's description belongs to."""
    units = split_units(hit.text)
    if not units:
        return None
    total = sum(weights.values())

    def coverage(terms: frozenset[str]) -> float:
        # fsum: exact whatever order a set yields its terms in (that order changes with the process's hash
        # seed), so near-tied excerpts rank the same in every process
        return math.fsum(weights.get(t, 0.0) for t in terms) / total

    def usable(unit: Unit) -> bool:
        return usable_unit(unit, said_before)

    def continues(unit: Unit) -> bool:
        """Reading on takes short sentences too ("This is not what happens."), up to a title, a term or a
        question, each of which starts something else."""
        if unit.kind in ("title", "term") or _plain(unit.text) in said_before:
            return False
        return unit.kind in WHOLE or not unit.text.rstrip(":").endswith(("?", "？"))

    scored = score_units(units, hit.heading_path, weights, how_to, said_before)
    if anchor is not None and 0 <= anchor < len(units):
        anchor_score = next((score for score, index in scored if index == anchor), 0.0)
        scored = [(anchor_score, anchor)]
    if not scored:
        return None
    anchor_score, anchor = max(scored, key=lambda item: (item[0], -item[1]))  # ties: the first, a definition
    start = end = anchor

    def fits(first: int, last: int, max_prose: int = MAX_PROSE_UNITS) -> bool:
        window = units[first : last + 1]
        prose = sum(u.kind not in WHOLE for u in window)
        return _lines(window) <= MAX_EXCERPT_LINES and _chars(window) <= MAX_EXCERPT_CHARS and prose <= max_prose

    # An example quoted alone needs the sentence that says what it is; a sentence that begins the thought the
    # best one continues ("The special exit code 125 ..." before "If the script exits with this code ...") too.
    previous = units[anchor - 1] if anchor > 0 else None
    if previous is not None and previous.kind != "row" and usable(previous) and fits(anchor - 1, anchor):
        introduces = units[anchor].kind in WHOLE
        same_thought = previous.paragraph == units[anchor].paragraph and previous.terms & weights.keys()
        if introduces or same_thought:
            start = anchor - 1
    # The answer usually follows the sentence that matches the question best: read on, within the section.
    while end + 1 < len(units) and continues(units[end + 1]) and fits(start, end + 1):
        following = units[end + 1]
        if following.kind == "row":
            break  # the row that answers stands alone; its neighbours are other records
        if following.kind in WHOLE and not (how_to or units[end].text.rstrip().endswith(":")):
            break
        end += 1
        if following.kind in WHOLE:
            break  # an example ends the excerpt: what comes after it is about something else
    # An option's description opens with what the option does ("When recording the commit, append a line ..."):
    # an excerpt whose best sentence is further in starts at that opening, where the description is short.
    term = next((i for i in range(start - 1, -1, -1) if units[i].kind in ("term", "title")), None)
    if term is not None and units[term].kind == "term" and term + 1 < start:
        description = units[term + 1 : end + 1]
        if fits(term + 1, end, DESCRIPTION_UNITS) and all(usable(u) or u.kind in WHOLE for u in description):
            start = term + 1
    while start > 0 and units[start - 1].kind == "term":
        start -= 1  # the option or term a description belongs to
    window = units[start : end + 1]
    covered = frozenset().union(*(u.terms for u in window)) & weights.keys()
    score = (
        anchor_score + FOLLOW_WEIGHT * coverage(covered) + RELEVANCE_WEIGHT * relevance(hit) - RANK_PENALTY * (n - 1)
    )
    return Excerpt(n, window, frozenset(covered), score)


def sheet_excerpt(n: int, hit: Hit, weights: dict[str, float], said_before: set[str]) -> Excerpt | None:
    """A spreadsheet passage's answer: the matching row(s) as one statement (sheets.py), scored as an excerpt
    whose best unit holds what the statement covers; None for other passages, or when no row matches."""
    if not is_sheet(hit):
        return None
    found = sheet_answer(hit, weights, said_before)
    if found is None:
        return None
    unit = Unit(found.text, "cells", 0, found.covered)
    score = (1 + FOLLOW_WEIGHT) * found.coverage + RELEVANCE_WEIGHT * relevance(hit) - RANK_PENALTY * (n - 1)
    return Excerpt(n, [unit], found.covered, score)


def relevance(hit: Hit) -> float:
    """How well a passage matches the question, on the dense cosine scale when there is one."""
    return hit.dense_score if hit.dense_score is not None else hit.score
