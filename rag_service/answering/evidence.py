"""Do the retrieved passages hold an answer? One decision, taken before any backend generates a word.

The signals come from retrieval, not from an answer:
- `dense`: the best passage's cosine similarity to the question;
- `coverage`: the share of the question's content terms, weighted by their rarity in the collection (IDF),
  that the top passages contain (text, section titles and file paths, stemmed);
- `missing`: names the question asks about that no top passage mentions: code as written
  (`hashlib.file_digest`; `subprocess.run` also counts as found on the subprocess page that says `run()`),
  runs of capitalised words as a phrase ("GitHub Actions"), and single capitalised words and file names
  (`.psd`) that the collection never uses at all ("Gitea"). When the thing asked about is absent,
  the passages are about something near it;
- `quantity`: a question asking for a measured quantity (bytes, per second, percent, how much faster), a date,
  a year or a price needs it in the passages: a number with that unit, a month with its day or year, a year,
  an amount of money (`terms.asked_quantity`);
- `row`: a table row (with its header) that holds nearly all of the question's weighted terms. A chunk of table
  rows embeds as the average of many rows, so its cosine to a question about one cell is low even when that
  row answers it; such a row stands in for the dense signal;
- `agreement`: whether the dense and lexical rankings put the same document near the top; reported with every
  answer, but not part of the decision: on the dev sets it did not separate answerable from unanswerable.

The thresholds are in settings (`RAG_EVIDENCE_*`), calibrated on the dev question sets with near-miss
questions (real module names, things the documents do not say); the numbers are in the issue notes (#9).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

from ingest.loaders.tables import DELIMITER_ROW
from rag_service.answering.terms import asked_quantity, content_terms, names, normalise_term
from rag_service.passages import Hit
from rag_service.stores.lexical_index import index_terms

PASSAGES_CHECKED = 3
ROW_COVERAGE = 0.8  # of the question's IDF weight, in one table row and its header


@dataclass(frozen=True)
class EvidenceThresholds:
    min_dense: float
    min_coverage: float


@dataclass
class Evidence:
    answerable: bool
    reason: str
    dense: float | None
    coverage: float
    missing: list[str] = field(default_factory=list)
    agreement: bool = False
    row: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def idf(document_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency: 0 for a term in every chunk, largest for one in none."""
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


def term_weights(question: str, frequencies: dict[str, int], documents: int) -> dict[str, float]:
    """Each content term of the question with its IDF in the collection; 0 for a term the collection never
    uses (a paraphrase, or a name the name check handles): no passage could hold it either way."""
    return {
        term: idf(frequencies[term], documents) if frequencies.get(term) else 0.0
        for term in dict.fromkeys(content_terms(question))
    }


def _passage_text(hits: list[Hit]) -> str:
    """The passages with their file and section, each on lines of its own: a table's header row must start
    a line for the quantity check to read a figure under it."""
    return "\n\n".join(f"{hit.path} {hit.heading_path}\n{hit.text}" for hit in hits)


def missing_names(question: str, hits: list[Hit], frequencies: dict[str, int]) -> list[str]:
    """Names in the question that the passages do not mention (see the module docstring)."""
    text = _passage_text(hits)
    lowered = " ".join(text.lower().split())
    terms = set(index_terms(text))
    places = " ".join(f"{hit.path} {hit.heading_path}" for hit in hits).lower()
    missing = []
    for name in names(question):
        written = " ".join(name.text.lower().split())
        if name.kind == "phrase":
            found = written in lowered
        elif name.kind == "code":
            # `subprocess.run` is found on the subprocess page that says `run()`.
            first, _, last = written.rpartition(".")
            last_terms = index_terms(last)
            found = written in lowered or (bool(first) and first in places and all(t in terms for t in last_terms))
        else:
            # A word that happens to be capitalised ("Windows") can be missing from three passages; a name the
            # collection never uses cannot. "SHA-256" is found as "sha256", "CPUs" as "CPU".
            joined = normalise_term(re.sub(r"[\W_]", "", name.text.lower()))
            variants = {joined, joined.removesuffix("s")}
            name_terms = index_terms(name.text)
            found = bool(variants & terms) or all(t in terms or frequencies.get(t) for t in name_terms)
        if not found:
            missing.append(name.text)
    return missing


def row_coverage(weights: dict[str, float], hits: list[Hit]) -> float:
    """The largest share of the question's weighted terms held by one Markdown table row with its header."""
    total = sum(weights.values())
    best = 0.0
    for hit in hits:
        header = None
        lines = hit.text.splitlines()
        for i, line in enumerate(lines):
            if "|" not in line:
                header = None  # the table ended
            elif i + 1 < len(lines) and DELIMITER_ROW.match(lines[i + 1]):
                header = line
            elif header is not None and not DELIMITER_ROW.match(line):
                present = set(index_terms(f"{hit.heading_path} {header} {line}"))
                best = max(best, sum(w for t, w in weights.items() if t in present) / total if total else 0.0)
    return best


def unmet_quantity(question: str, text: str) -> str | None:
    """What a quantity question asks for (in words), when the text holds nothing of the kind."""
    asked = asked_quantity(question)
    if asked is None:
        return None
    pattern, what = asked
    return None if pattern.search(text) else what


def assess(
    question: str,
    hits: list[Hit],
    weights: dict[str, float],
    frequencies: dict[str, int],
    thresholds: EvidenceThresholds,
    lexical_first: int | None = None,
) -> Evidence:
    """Whether `hits` (best first) can answer `question`; `lexical_first` is the document id BM25 ranked first."""
    top = hits[:PASSAGES_CHECKED]
    dense = max((h.dense_score for h in top if h.dense_score is not None), default=None)
    agreement = lexical_first is not None and any(h.document_id == lexical_first for h in top)
    if not top or not weights:
        return Evidence(False, "no passage matches the question", dense, 0.0)
    text = _passage_text(top)
    present = set(index_terms(text))
    total = sum(weights.values())
    coverage = sum(w for t, w in weights.items() if t in present) / total if total else 0.0
    missing = missing_names(question, top, frequencies)
    evidence = Evidence(True, "", dense, round(coverage, 4), missing, agreement)
    unmet = unmet_quantity(question, text)
    evidence.row = row_coverage(weights, top) >= ROW_COVERAGE
    if dense is not None and dense < thresholds.min_dense and not evidence.row:
        evidence.answerable, evidence.reason = False, "the closest passage is not about the question"
    elif missing:
        evidence.answerable, evidence.reason = False, f"no passage mentions {', '.join(missing)}"
    elif coverage < thresholds.min_coverage:
        evidence.answerable, evidence.reason = False, "the passages miss most of what the question asks"
    elif unmet is not None:
        evidence.answerable, evidence.reason = False, f"no passage gives {unmet}"
    return evidence
