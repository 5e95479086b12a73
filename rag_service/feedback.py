"""Feedback on answers (thumbs up or down, an optional comment), and its export as an eval questions file in
the format of shared/eval/*/questions.jsonl, so that a team's own use becomes its eval set:

- thumbs up on an answer with citations: a regression question, its cited files `relevant` and `evidence`
  taken from each cited quote (a run of 3-12 words, or one table row, found verbatim in the stored file where
  it can be read). The file is read as ingest read it, through the loader registry: a slide's speaker notes, a
  sheet's cells and a scan's OCR text count, as they did for the answer. HTML is read as its text runs between
  tags instead, which is what shared/eval/check_evidence.py checks evidence against;
- thumbs up on a decline: an unanswerable question (the system should keep declining it);
- thumbs down, or a thumbs up nothing can be checked against: a question to look at, marked
  `"needs_review": true` with empty ground truth; `eval` skips those until someone fills them in.

Every question carries the answer that was rated (`answer`, and again under `feedback.answer_given`).

A follow-up ("What is its default value?") is exported as the standalone question the ask searched for, with
what was typed (`asked`) and the conversation's earlier turns (`context`), so that it reads on its own.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ingest.loaders import loader_for
from ingest.loaders.tables import DELIMITER_ROW
from ingest.types import LoadError
from rag_service.answering.base import ChatTurn
from rag_service.answering.condense import condense_by_rule
from rag_service.collections import find_collection
from rag_service.conversations import Viewer
from rag_service.db.models import Collection, Conversation, ConversationTurn, Feedback, utcnow
from rag_service.errors import InvalidInputError, NotAllowedError, NotFoundError
from rag_service.indexing import load_options
from rag_service.settings import Settings
from rag_service.storage.folder import upload_root

log = logging.getLogger(__name__)

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
MAX_CONTEXT_TURNS = 25  # earlier exchanges copied with a follow-up's feedback: as many as an ask reads by default
EVIDENCE_WORDS = (3, 12)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_MARKUP_LINE = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s?|\||```|~~~)")
# One Markdown table row on one line ("| 4 | Team | 12 EUR |"), not several run together ("... | | ...")
_TABLE_ROW = re.compile(r"^\|(?:(?!\|\s*\|).)+\|$")


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
        "standalone_question": feedback.standalone_question or feedback.question,
        "context": list(feedback.context or []),
        "answer": feedback.answer,
        "answered": feedback.answered,
        "citations": list(feedback.citations or []),
        "passages": list(feedback.passages or []),
        "created_at": feedback.created_at.isoformat() if feedback.created_at else None,
        "updated_at": feedback.updated_at.isoformat() if feedback.updated_at else None,
    }


def give_feedback(session: Session, turn_id: int, rating: str, comment: str, viewer: Viewer) -> dict[str, Any]:
    """Feedback on one saved turn; given again, it replaces the earlier one (one per answer). A turn of a
    conversation the viewer may not see is not found; on another person's shared conversation only its owner
    rates the answers (NotAllowedError). The feedback is its conversation owner's, as private as it was."""
    if rating not in RATINGS:
        raise InvalidInputError(f"rating: must be one of {', '.join(RATINGS)}")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInputError(f"comment: over the limit of {MAX_COMMENT_CHARS} characters")
    row = session.execute(
        select(ConversationTurn, Conversation, Collection.name)
        .join(Conversation, Conversation.id == ConversationTurn.conversation_id)
        .join(Collection, Collection.id == Conversation.collection_id)
        .where(ConversationTurn.id == turn_id)
    ).first()
    if row is None or not viewer.may_read(row[2]) or not viewer.sees(row[1]):
        raise NotFoundError(f"no answer {turn_id}")
    turn, conversation, collection = row
    if not viewer.may_change(conversation):
        raise NotAllowedError(
            f"answer {turn_id} is in a conversation shared with the collection to read: only its owner may rate it"
        )
    feedback = session.scalar(select(Feedback).where(Feedback.turn_id == turn_id))
    if feedback is None:
        feedback = Feedback(turn_id=turn_id, collection_id=conversation.collection_id)
        session.add(feedback)
    feedback.owner_id = conversation.owner_id
    feedback.rating, feedback.comment = rating, comment.strip()
    feedback.question, feedback.answer, feedback.answered = turn.question, turn.answer, turn.answered
    feedback.standalone_question = turn.standalone_question
    feedback.context = _earlier_turns(session, turn)
    feedback.citations, feedback.passages = list(turn.citations or []), list(turn.passages or [])
    feedback.updated_at = utcnow()
    session.commit()
    return _to_dict(feedback, collection)


def _earlier_turns(session: Session, turn: ConversationTurn) -> list[dict[str, str]]:
    """The exchanges before `turn` in its conversation, oldest first: what a follow-up was asked after."""
    rows = session.execute(
        select(ConversationTurn.question, ConversationTurn.answer)
        .where(ConversationTurn.conversation_id == turn.conversation_id, ConversationTurn.ordinal < turn.ordinal)
        .order_by(ConversationTurn.ordinal.desc())
        .limit(MAX_CONTEXT_TURNS)
    ).all()
    return [{"question": question, "answer": answer} for question, answer in reversed(rows)]


def list_feedback(
    session: Session, viewer: Viewer, rating: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Oldest first, of the viewer's collections: feedback on unowned conversations, the viewer's own, and that on
    conversations shared now (feedback copies the conversation's text, so it is as private as the conversation,
    and stays its owner's once the conversation is deleted)."""
    shared = (
        select(ConversationTurn.id)
        .join(Conversation, Conversation.id == ConversationTurn.conversation_id)
        .where(Conversation.shared)
    )
    seen = [Feedback.owner_id.is_(None), Feedback.turn_id.in_(shared)]
    if viewer.person_id is not None:
        seen.append(Feedback.owner_id == viewer.person_id)
    query = (
        select(Feedback, Collection.name)
        .join(Collection, Collection.id == Feedback.collection_id)
        .where(or_(*seen))
        .order_by(Feedback.id)
        .limit(limit)
    )
    if viewer.collections is not None:
        query = query.where(Collection.name.in_(list(viewer.collections)))
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


def _file_runs(path: Path, settings: Settings) -> list[str] | None:
    """The file's text as evidence is matched against: each section its loader gives (what ingest indexed), per
    text run for HTML, whole for a file no loader reads; None where it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    spec = loader_for(path.name)
    if path.suffix.lower() in HTML_SUFFIXES:
        parser = _TextRuns()
        parser.feed(data.decode("utf-8", errors="replace"))
        parser.close()
        return [_norm(run) for run in "".join(parser.runs).split("\x00") if run.strip()]
    if spec is None:
        return [_norm(data.decode("utf-8", errors="replace"))]
    try:
        sections = spec.load(data, path.name, load_options(settings))  # its own time limit, as in ingest
    except LoadError as exc:
        log.warning("feedback export: %s cannot be read (%s); its quotes are not checked", path.name, exc)
        return None
    except Exception:  # a loader bug on one odd file must not stop the export
        log.exception("feedback export: reading %s failed", path.name)
        return None
    return [_norm(section.text) for section in sections if section.text.strip()]


def _candidates(quote: str) -> list[str]:
    """Word windows of the quote's prose lines (3-12 words), longest first, Markdown line marks left out; a
    quoted table row stands as it is, its cells between the pipes (a sheet's answer cites the row it read)."""
    lo, hi = EVIDENCE_WORDS
    found: list[str] = []
    for line in quote.splitlines():
        row = line.strip()
        if _TABLE_ROW.match(row) and not DELIMITER_ROW.match(row):
            found.append(_norm(row[1:-1]))
            continue
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


def standalone(feedback: Feedback) -> str:
    """The question the ask searched for: saved with the turn; for feedback kept from before it was, a
    follow-up made standalone again by the rule the extractive answerer uses, from the copied context."""
    if feedback.standalone_question:
        return feedback.standalone_question
    history = [
        ChatTurn(role, str(turn.get(key, "")))
        for turn in feedback.context or []
        for role, key in (("user", "question"), ("assistant", "answer"))
    ]
    return condense_by_rule(feedback.question, history)


def _question_fields(feedback: Feedback) -> dict[str, Any]:
    """`question`, and for a follow-up what was typed and the turns it followed."""
    searched = standalone(feedback)
    if searched == feedback.question:
        return {"question": feedback.question}
    return {"question": searched, "asked": feedback.question, "context": list(feedback.context or [])}


def export_questions(session: Session, settings: Settings, collection_name: str) -> list[dict[str, Any]]:
    collection = find_collection(session, collection_name)
    root = source_root(settings, collection)
    read: dict[str, list[str] | None] = {}  # each file loaded once (OCR takes seconds a page)

    def runs_of(path: str) -> list[str] | None:
        if path not in read:
            read[path] = _file_runs(root / path, settings)
        return read[path]

    rows = session.scalars(select(Feedback).where(Feedback.collection_id == collection.id).order_by(Feedback.id))
    questions = []
    for feedback in rows:
        base = {
            "id": f"{collection.name}-fb-{feedback.id:04d}",
            **_question_fields(feedback),
            # The answer the user rated, for every kind: a reviewer corrects a thumbs-down's rather than starting
            # from nothing (an empty one read as if no answer had been given); `eval` reads only the ground truth.
            "answer": feedback.answer,
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
            found = _evidence(str(citation.get("quote", "")), runs_of(path)) if path else None
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
