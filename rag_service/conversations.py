"""Saved conversations: per collection, each turn kept as the user saw it (question, answer, citations and the
passages shown). A conversation's turns are the history of the next question asked in it.

Who may see which collection is the API's business (api/auth.py); this module takes the collections a caller
may see (`visible`, None for all) and answers a conversation outside them as absent.
"""

from __future__ import annotations

from collections.abc import Collection as Names
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rag_service.answering.base import ChatTurn
from rag_service.collections import find_collection
from rag_service.db.models import Collection, Conversation, ConversationTurn, Feedback, utcnow
from rag_service.errors import InvalidInputError, NotFoundError

TITLE_CHARS = 200
AUTO_TITLE_CHARS = 60  # a sidebar line; the whole question is the conversation's first turn
PASSAGE_FIELDS = ("rank", "score", "path", "chunk_id", "heading_path", "page", "page_unit", "start_line", "end_line")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _title_from_question(question: str) -> str:
    """A title made from the first question: its first AUTO_TITLE_CHARS characters, cut at a word."""
    title = " ".join(question.split())
    if len(title) <= AUTO_TITLE_CHARS:
        return title
    cut = title[: AUTO_TITLE_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > AUTO_TITLE_CHARS // 2 else cut).rstrip(" ,;:-") + "…"


def _title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise InvalidInputError("title: must not be empty")
    return title[: TITLE_CHARS - 1] + "…" if len(title) > TITLE_CHARS else title


@dataclass
class TurnInfo:
    id: int
    question: str
    standalone_question: str  # what the ask searched for (a follow-up rewritten to stand on its own)
    answer: str
    answered: bool
    backend: str
    citations: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    created_at: str | None
    feedback: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _turn_info(turn: ConversationTurn, feedback: Feedback | None) -> TurnInfo:
    return TurnInfo(
        id=turn.id,
        question=turn.question,
        standalone_question=turn.standalone_question or turn.question,
        answer=turn.answer,
        answered=turn.answered,
        backend=turn.backend,
        citations=list(turn.citations or []),
        passages=list(turn.passages or []),
        created_at=_iso(turn.created_at),
        feedback={"rating": feedback.rating, "comment": feedback.comment} if feedback else None,
    )


def _summary(conversation: Conversation, collection: str, turns: int) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "collection": collection,
        "title": conversation.title,
        "turns": turns,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
    }


def _find(session: Session, conversation_id: int, visible: Names[str] | None) -> tuple[Conversation, str]:
    row = session.execute(
        select(Conversation, Collection.name)
        .join(Collection, Collection.id == Conversation.collection_id)
        .where(Conversation.id == conversation_id)
    ).first()
    # Another collection's conversation looks exactly like one that does not exist.
    if row is None or (visible is not None and row[1] not in visible):
        raise NotFoundError(f"no conversation {conversation_id}")
    return row[0], row[1]


def create_conversation(session: Session, collection: str, title: str = "") -> dict[str, Any]:
    owner = find_collection(session, collection)
    conversation = Conversation(collection_id=owner.id, title=_title(title) if title.strip() else "")
    session.add(conversation)
    session.commit()
    return _summary(conversation, owner.name, 0)


def list_conversations(session: Session, collections: Names[str] | None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first; `collections` None lists every collection's."""
    turns = (
        select(ConversationTurn.conversation_id, func.count().label("n"))
        .group_by(ConversationTurn.conversation_id)
        .subquery()
    )
    query = (
        select(Conversation, Collection.name, func.coalesce(turns.c.n, 0))
        .join(Collection, Collection.id == Conversation.collection_id)
        .outerjoin(turns, turns.c.conversation_id == Conversation.id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if collections is not None:
        query = query.where(Collection.name.in_(list(collections)))
    return [_summary(c, name, n) for c, name, n in session.execute(query)]


def get_conversation(session: Session, conversation_id: int, visible: Names[str] | None) -> dict[str, Any]:
    conversation, collection = _find(session, conversation_id, visible)
    turns = list(conversation.turns)
    feedback = (
        {f.turn_id: f for f in session.scalars(select(Feedback).where(Feedback.turn_id.in_([t.id for t in turns])))}
        if turns
        else {}
    )
    data = _summary(conversation, collection, len(turns))
    data["items"] = [_turn_info(t, feedback.get(t.id)).to_dict() for t in turns]
    return data


def rename_conversation(
    session: Session, conversation_id: int, title: str, visible: Names[str] | None
) -> dict[str, Any]:
    conversation, collection = _find(session, conversation_id, visible)
    conversation.title = _title(title)  # not "updated": a rename does not move it to the top of the list
    session.commit()
    return _summary(conversation, collection, len(conversation.turns))


def delete_conversation(session: Session, conversation_id: int, visible: Names[str] | None) -> None:
    conversation, _ = _find(session, conversation_id, visible)
    session.delete(conversation)
    session.commit()


def conversation_collection(session: Session, conversation_id: int, visible: Names[str] | None) -> str:
    return _find(session, conversation_id, visible)[1]


def history_of(session: Session, conversation_id: int, max_turns: int) -> list[ChatTurn]:
    """The conversation's recent turns as chat history, at most `max_turns` messages (whole exchanges)."""
    rows = session.execute(
        select(ConversationTurn.question, ConversationTurn.answer)
        .where(ConversationTurn.conversation_id == conversation_id)
        .order_by(ConversationTurn.ordinal.desc())
        .limit(max(0, max_turns // 2))
    ).all()
    history: list[ChatTurn] = []
    for question, answer in reversed(rows):
        history += [ChatTurn("user", question), ChatTurn("assistant", answer)]
    return history


def append_turn(session: Session, conversation_id: int, result: dict[str, Any]) -> int:
    """Store an ask's result (AskResult.to_dict()) as the conversation's next turn; its id."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:  # deleted while the answer streamed
        raise NotFoundError(f"no conversation {conversation_id}")
    last = session.scalar(
        select(func.max(ConversationTurn.ordinal)).where(ConversationTurn.conversation_id == conversation_id)
    )
    passages = [
        {k: hit.get(k) for k in PASSAGE_FIELDS if hit.get(k) is not None} | {"text": hit.get("text", "")}
        for hit in result.get("hits", [])
    ]
    turn = ConversationTurn(
        conversation_id=conversation_id,
        ordinal=(last or 0) + 1,
        question=result["question"],
        standalone_question=result.get("standalone_question") or result["question"],
        answer=result.get("answer", ""),
        answered=bool(result.get("answered")),
        backend=result.get("backend", ""),
        citations=result.get("citations", []),
        passages=passages,
    )
    session.add(turn)
    if not conversation.title:
        conversation.title = _title_from_question(result["question"])
    conversation.updated_at = utcnow()
    session.commit()
    return turn.id
