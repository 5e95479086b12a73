"""Saved conversations: per collection, each turn kept as the user saw it (question, answer, citations and the
passages shown). A conversation's turns are the history of the next question asked in it.

Who the caller is, is the front door's business (api/auth.py); this module takes a `Viewer` (the collections
they may read, and the signed-in person, if any) and applies the rules:

- a conversation a signed-in person starts is theirs (`owner_id`) and private: listed and readable only for
  them, until they share it with its collection (`share_conversation`); then everyone who may read the
  collection may read it, and still only the owner may continue, rename, delete or unshare it;
- one with no owner (started with an API key, or on a server without sign-in) belongs to its collection, as
  before people signed in: whoever may read the collection may read, continue, rename and delete it;
- a viewer who is nobody in particular (an API key, a server without sign-in) sees the unowned and the shared
  ones, never someone's private ones.

A conversation outside what the viewer may see is answered exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection as Names
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from rag_service.answering.base import ChatTurn
from rag_service.collections import find_collection
from rag_service.db.models import Collection, Conversation, ConversationTurn, Feedback, Person, utcnow
from rag_service.errors import InvalidInputError, NotAllowedError, NotFoundError

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


@dataclass(frozen=True)
class Viewer:
    """Who looks at conversations: the collections they may read, and the signed-in person, if any."""

    collections: Names[str] | None = None  # None: every collection
    person_id: int | None = None  # None: an API key, the CLI, or a server without sign-in

    def may_read(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def sees(self, conversation: Conversation) -> bool:
        """Within a readable collection: unowned, shared, or their own."""
        return conversation.owner_id is None or conversation.shared or conversation.owner_id == self.person_id

    def may_change(self, conversation: Conversation) -> bool:
        """Continue, rename, delete: an unowned conversation's readers, an owned one's owner alone."""
        return conversation.owner_id is None or conversation.owner_id == self.person_id

    def condition(self) -> ColumnElement[bool]:
        """`sees` as SQL, on `Conversation`."""
        if self.person_id is None:
            return or_(Conversation.owner_id.is_(None), Conversation.shared)
        return or_(Conversation.owner_id.is_(None), Conversation.shared, Conversation.owner_id == self.person_id)


NOBODY = Viewer()  # every collection, no person: sees the unowned and the shared conversations


def owner_label(person: Person | None) -> str | None:
    """How an owner is shown: their e-mail address, else their name (as the audit trail names them)."""
    if person is None:
        return None
    return person.email or person.name or f"person:{person.id}"


def _summary(
    conversation: Conversation, collection: str, turns: int, owner: Person | None, viewer: Viewer
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "collection": collection,
        "title": conversation.title,
        "turns": turns,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "shared": bool(conversation.shared),
        "mine": conversation.owner_id is not None and conversation.owner_id == viewer.person_id,
        "owner": owner_label(owner),
    }


def _find(session: Session, conversation_id: int, viewer: Viewer) -> tuple[Conversation, str, Person | None]:
    row = session.execute(
        select(Conversation, Collection.name, Person)
        .join(Collection, Collection.id == Conversation.collection_id)
        .outerjoin(Person, Person.id == Conversation.owner_id)
        .where(Conversation.id == conversation_id)
    ).first()
    # Another collection's conversation, or another person's private one, looks exactly like one that does not
    # exist.
    if row is None or not viewer.may_read(row[1]) or not viewer.sees(row[0]):
        raise NotFoundError(f"no conversation {conversation_id}")
    return row[0], row[1], row[2]


def _require_owner(conversation: Conversation, owner: Person | None, viewer: Viewer, doing: str) -> None:
    if not viewer.may_change(conversation):
        raise NotAllowedError(
            f"conversation {conversation.id} is {owner_label(owner)}'s, shared with the collection to read: "
            f"only its owner may {doing}"
        )


def create_conversation(session: Session, collection: str, title: str = "", viewer: Viewer = NOBODY) -> dict[str, Any]:
    """A new conversation; a signed-in viewer's is theirs, private until they share it."""
    found = find_collection(session, collection)
    conversation = Conversation(
        collection_id=found.id, title=_title(title) if title.strip() else "", owner_id=viewer.person_id, shared=False
    )
    session.add(conversation)
    session.commit()
    owner = session.get(Person, viewer.person_id) if viewer.person_id is not None else None
    return _summary(conversation, found.name, 0, owner, viewer)


def list_conversations(session: Session, viewer: Viewer, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first: those of the viewer's collections that the viewer sees (`Viewer.sees`)."""
    turns = (
        select(ConversationTurn.conversation_id, func.count().label("n"))
        .group_by(ConversationTurn.conversation_id)
        .subquery()
    )
    query = (
        select(Conversation, Collection.name, func.coalesce(turns.c.n, 0), Person)
        .join(Collection, Collection.id == Conversation.collection_id)
        .outerjoin(turns, turns.c.conversation_id == Conversation.id)
        .outerjoin(Person, Person.id == Conversation.owner_id)
        .where(viewer.condition())
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if viewer.collections is not None:
        query = query.where(Collection.name.in_(list(viewer.collections)))
    return [_summary(c, name, n, owner, viewer) for c, name, n, owner in session.execute(query)]


def get_conversation(session: Session, conversation_id: int, viewer: Viewer) -> dict[str, Any]:
    conversation, collection, owner = _find(session, conversation_id, viewer)
    turns = list(conversation.turns)
    feedback = (
        {f.turn_id: f for f in session.scalars(select(Feedback).where(Feedback.turn_id.in_([t.id for t in turns])))}
        if turns
        else {}
    )
    data = _summary(conversation, collection, len(turns), owner, viewer)
    data["items"] = [_turn_info(t, feedback.get(t.id)).to_dict() for t in turns]
    return data


def rename_conversation(session: Session, conversation_id: int, title: str, viewer: Viewer) -> dict[str, Any]:
    conversation, collection, owner = _find(session, conversation_id, viewer)
    _require_owner(conversation, owner, viewer, "rename it")
    conversation.title = _title(title)  # not "updated": a rename does not move it to the top of the list
    session.commit()
    return _summary(conversation, collection, len(conversation.turns), owner, viewer)


def share_conversation(session: Session, conversation_id: int, shared: bool, viewer: Viewer) -> dict[str, Any]:
    """Share a conversation with its collection (everyone who may read the collection may read it, not change
    it), or make it private again. Its owner's alone: an unowned conversation is the collection's already."""
    conversation, collection, owner = _find(session, conversation_id, viewer)
    if conversation.owner_id is None:
        raise NotAllowedError(
            f"conversation {conversation_id} has no owner (it was started with an API key or before sign-in): "
            "everyone who may read its collection sees it already"
        )
    _require_owner(conversation, owner, viewer, "share it or stop sharing it")
    conversation.shared = shared  # not "updated", as a rename
    session.commit()
    return _summary(conversation, collection, len(conversation.turns), owner, viewer)


def delete_conversation(session: Session, conversation_id: int, viewer: Viewer) -> str:
    """Its turns go with it; the collection it was in."""
    conversation, collection, owner = _find(session, conversation_id, viewer)
    _require_owner(conversation, owner, viewer, "delete it")
    session.delete(conversation)
    session.commit()
    return collection


def check_continue(session: Session, conversation_id: int, collection: str, viewer: Viewer) -> None:
    """The viewer may ask in this conversation of `collection` (its next turn): one of another collection is not
    found there, and another person's shared one may be read but not continued."""
    conversation, found, owner = _find(session, conversation_id, viewer)
    if found != collection:
        raise NotFoundError(f"no conversation {conversation_id} in collection {collection!r}")
    _require_owner(conversation, owner, viewer, "continue it (start a new conversation to ask about it)")


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
