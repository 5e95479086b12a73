"""Feedback on answers: thumbs up or down with an optional comment, given on a saved turn."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from rag_service import audit
from rag_service import feedback as service
from rag_service.api.deps import Caller, State
from rag_service.api.schemas import FeedbackCreate, FeedbackList, FeedbackOut
from rag_service.collections import find_collection
from rag_service.conversations import Viewer

router = APIRouter(prefix="/api/feedback", tags=["feedback"])


@router.post("", status_code=201, response_model=FeedbackOut)
def give_feedback(body: FeedbackCreate, state: State, caller: Caller) -> dict:
    """Stored with the turn's question, answer, citations and passages; given again, it replaces the first. An
    answer in a conversation the caller may not see is a 404; in another person's shared one, a 403 (its owner
    rates it)."""
    with state.runtime.sessions() as session:
        given = service.give_feedback(session, body.turn_id, body.rating, body.comment, caller.viewer)
    audit.record(
        state.runtime,
        caller.actor,
        "feedback",
        collection=given["collection"],
        target=body.turn_id,
        details={"rating": body.rating, "feedback_id": given["id"]},
        private={"comment": body.comment},
    )
    return given


@router.get("", response_model=FeedbackList)
def list_feedback(
    state: State,
    caller: Caller,
    collection: Annotated[str | None, Query(max_length=64)] = None,
    rating: Literal["up", "down"] | None = None,
) -> dict:
    """Oldest first, only of the collections the caller may read, and as private as the conversations it was
    given in: a signed-in person's private conversation's feedback is listed for them alone."""
    visible = caller.collections
    with state.runtime.sessions() as session:
        if collection is not None:
            caller.require(collection)
            find_collection(session, collection)
            visible = frozenset([collection])
        return {"items": service.list_feedback(session, Viewer(visible, caller.person_id), rating)}
