"""Feedback on answers (thumbs up or down, an optional comment), and its export as an eval questions file in
the format of shared/eval/*/questions.jsonl, so that a team's own use becomes its eval set:

- thumbs up on an answer with citations: a regression question, its cited files `relevant` and `evidence`
  taken from each cited quote (a run of 3-12 words found verbatim in the stored file where it can be read);
- thumbs up on a decline: an unanswerable question (the system should keep declining it);
- thumbs down, or a thumbs up nothing can be checked against: a question to look at, marked
  `"needs_review": true` with empty ground truth; `eval` skips those until someone fills them in.
"""

from __future__ import annotations

import re
from collections.abc import Collection as Names
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rag_service.collections import find_collection
from rag_service.db.models import Collection, Conversation, ConversationTurn, Feedback, utcnow
from rag_service.errors import InvalidInputError, NotFoundError
from rag_service.settings import Settings
from rag_service.storage.folder import upload_root

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
EVIDENCE_WORDS = (3, 12)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_MARKUP_LINE = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s?|\||```|~~~)")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _to_dict(feedback: Feedback, collection: str) -> dict[str, Any]:
    return {
        "id": feedback.id,
        "collection": collection,
        "turn_id": feedback.turn_id,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "question": feedback.question,
        "answer": feedback.answer,
        "answered": feedback.answered,
        "citations": list(feedback.citations or []),
        "passages": list(feedback.passages or []),
        "created_at": feedback.created_at.isoformat() if feedback.created_at else None,
        "updated_at": feedback.updated_at.isoformat() if feedback.updated_at else None,
    }


def give_feedback(
    session: Session, turn_id: int, rating: str, comment: str, visible: Names[str] | None
) -> dict[str, Any]:
    """Feedback on one saved turn; given again, it replaces the earlier one (one per answer)."""
    if rating not in RATINGS:
        raise InvalidInputError(f"rating: must be one of {', '.join(RATINGS)}")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInputError(f"comment: over the limit of {MAX_COMMENT_CHARS} characters")
    row = session.execute(
        select(ConversationTurn, Conversation.collection_id, Collection.name)
        .join(Conversation, Conversation.id == ConversationTurn.conversation_id)
        .join(Collection, Collection.id == Conversation.collection_id)
        .where(ConversationTurn.id == turn_id)
    ).first()
    if row is None or (visible is not None and row[2] not in visible):
        raise NotFoundError(f"no answer {turn_id}")
    turn, collection_id, collection = row
    feedback = session.scalar(select(Feedback).where(Feedback.turn_id == turn_id))
    if feedback is None:
        feedback = Feedback(turn_id=turn_id, collection_id=collection_id)
        session.add(feedback)
    feedback.rating, feedback.comment = rating, comment.strip()
    feedback.question, feedback.answer, feedback.answered = turn.question, turn.answer, turn.answered
    feedback.citations, feedback.passages = list(turn.citations or []), list(turn.passages or [])
    feedback.updated_at = utcnow()
    session.commit()
    return _to_dict(feedback, collection)


def list_feedback(
    session: Session, collections: Names[str] | None, rating: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    query = (
        select(Feedback, Collection.name)
        .join(Collection, Collection.id == Feedback.collection_id)
        .order_by(Feedback.id)
        .limit(limit)
    )
    if collections is not None:
        query = query.where(Collection.name.in_(list(collections)))
    if rating is not None:
        query = query.where(Feedback.rating == rating)
    return [_to_dict(f, name) for f, name in session.execute(query)]


# ---- export -------------------------------------------------------------------------------------------------


class _TextRuns(HTMLParser):
    """An HTML page's text runs between tags, scripts and styles dropped (as shared/eval/check_evidence.py)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        self.runs.append("\x00")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        self.runs.append("\x00")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.runs.append(data)


def _file_runs(path: Path) -> list[str] | None:
    """The file's text as evidence is matched against: whole for text files, per text run for HTML."""
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix.lower() not in HTML_SUFFIXES:
        return [_norm(raw)]
    parser = _TextRuns()
    parser.feed(raw)
    parser.close()
    return [_norm(run) for run in "".join(parser.runs).split("\x00") if run.strip()]


def _candidates(quote: str) -> list[str]:
    """Word windows of the quote's prose lines (3-12 words), longest first, Markdown line marks left out."""
    lo, hi = EVIDENCE_WORDS
    found: list[str] = []
    for line in quote.splitlines():
        if _MARKUP_LINE.match(line):
            continue
        words = line.split()
        if len(words) < lo:
            continue
        size = min(hi, len(words))
        found += [" ".join(words[i : i + size]) for i in range(0, len(words) - size + 1)]
    return found


def _evidence(quote: str, runs: list[str] | None) -> str | None:
    for candidate in _candidates(quote):
        # Where the file cannot be read the quote stands as it is; else it must be in one text run of it.
        if runs is None or any(candidate in run for run in runs):
            return candidate
    return None


def source_root(settings: Settings, collection: Collection) -> Path:
    """Where a collection's files are on the server: its synced folder, else its stored uploads."""
    if collection.source_path:
        return Path(collection.source_path)
    return upload_root(settings, collection.id)


def _review(base: dict[str, Any], why: str) -> dict[str, Any]:
    return base | {
        "relevant": [],
        "evidence": [],
        "answerable": False,
        "type": "review",
        "needs_review": True,
        "review_reason": why,
    }


def export_questions(session: Session, settings: Settings, collection_name: str) -> list[dict[str, Any]]:
    collection = find_collection(session, collection_name)
    root = source_root(settings, collection)
    rows = session.scalars(select(Feedback).where(Feedback.collection_id == collection.id).order_by(Feedback.id))
    questions = []
    for feedback in rows:
        base = {
            "id": f"{collection.name}-fb-{feedback.id:04d}",
            "question": feedback.question,
            "answer": feedback.answer if feedback.rating == "up" else "",
            "feedback": {"rating": feedback.rating, "comment": feedback.comment, "answer_given": feedback.answer},
        }
        if feedback.rating == "down":
            questions.append(_review(base, "thumbs down"))
            continue
        if not feedback.answered:
            questions.append(base | {"relevant": [], "evidence": [], "answerable": False, "type": "unanswerable"})
            continue
        relevant: list[str] = []
        evidence: list[str] = []
        for citation in feedback.citations or []:
            path = str(citation.get("path", ""))
            found = _evidence(str(citation.get("quote", "")), _file_runs(root / path))
            if not path or found is None:
                continue
            if path not in relevant:
                relevant.append(path)
            if found not in evidence and len(evidence) < 3:
                evidence.append(found)
        if not relevant:
            questions.append(_review(base, "no cited quote found in its file"))
            continue
        questions.append(base | {"relevant": relevant, "evidence": evidence, "answerable": True, "type": "regression"})
    return questions
