"""Saved conversations: list, create, read, rename, share, delete; scoped by API key like their collections, and
by person where people sign in.

A read-only key may keep conversations: they are what asking produces, not changes to a collection.

Who sees which (rag_service/conversations.py): a conversation a signed-in person starts is private to them until
they share it with its collection (POST .../share), and then others who may read the collection may read it, but
only its owner may continue, rename, delete or unshare it (403). One started with an API key, or on a server
without sign-in, has no owner and is the collection's, as before: whoever may read the collection may use it.
An API key sees the unowned and the shared ones, never a person's private ones. A conversation the caller may
not see is a 404, exactly like one that does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from rag_service import audit
from rag_service import conversations as service
from rag_service.api.deps import Caller, RowId, State
from rag_service.api.schemas import (
    ConversationCreate,
    ConversationList,
    ConversationOut,
    ConversationRename,
    ConversationShare,
    ConversationSummary,
)
from rag_service.collections import find_collection
from rag_service.conversations import Viewer

router = APIRouter(prefix="/api", tags=["conversations"])


@router.get("/conversations", response_model=ConversationList)
def list_conversations(
    state: State,
    caller: Caller,
    collection: Annotated[str | None, Query(max_length=64, description="Only this collection's.")] = None,
) -> dict:
    """Newest first, only of the collections the caller may read; of those, a signed-in person's own, the shared
    ones and the unowned ones (an API key: the shared and unowned ones)."""
    if collection is not None:
        return collection_conversations(collection, state, caller)
    with state.runtime.sessions() as session:
        return {"conversations": service.list_conversations(session, caller.viewer)}


@router.get("/collections/{name}/conversations", response_model=ConversationList)
def collection_conversations(name: str, state: State, caller: Caller) -> dict:
    """As GET /api/conversations, of one collection."""
    caller.require(name)
    with state.runtime.sessions() as session:
        find_collection(session, name)
        return {"conversations": service.list_conversations(session, Viewer([name], caller.person_id))}


@router.post("/conversations", status_code=201, response_model=ConversationSummary)
def create_conversation(body: ConversationCreate, state: State, caller: Caller) -> dict:
    """A signed-in person's new conversation is theirs and private until they share it; a key's has no owner."""
    caller.require(body.collection)
    with state.runtime.sessions() as session:
        created = service.create_conversation(session, body.collection, body.title, caller.viewer)
    audit.record(
        state.runtime,
        caller.actor,
        "conversation.create",
        collection=body.collection,
        target=created["id"],
        private={"title": created["title"]},
    )
    return created


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: RowId, state: State, caller: Caller) -> dict:
    """Its turns in order: question, answer, citations, the passages shown, and any feedback given. Another
    person's private conversation is a 404; their shared one may be read."""
    with state.runtime.sessions() as session:
        return service.get_conversation(session, conversation_id, caller.viewer)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary)
def rename_conversation(conversation_id: RowId, body: ConversationRename, state: State, caller: Caller) -> dict:
    """An owned conversation by its owner only (403 for others who may read it shared)."""
    with state.runtime.sessions() as session:
        renamed = service.rename_conversation(session, conversation_id, body.title, caller.viewer)
    audit.record(
        state.runtime,
        caller.actor,
        "conversation.rename",
        collection=renamed["collection"],
        target=conversation_id,
        private={"title": renamed["title"]},
    )
    return renamed


@router.post("/conversations/{conversation_id}/share", response_model=ConversationSummary)
def share_conversation(conversation_id: RowId, body: ConversationShare, state: State, caller: Caller) -> dict:
    """Share a signed-in person's conversation with its collection (`shared: true`: everyone who may read the
    collection may read it, not continue or change it), or make it private again (`false`). Its owner only (403);
    an unowned conversation is the collection's already (403)."""
    with state.runtime.sessions() as session:
        shared = service.share_conversation(session, conversation_id, body.shared, caller.viewer)
    audit.record(
        state.runtime,
        caller.actor,
        "conversation.share",
        collection=shared["collection"],
        target=conversation_id,
        details={"shared": body.shared},
    )
    return shared


@router.delete("/conversations/{conversation_id}", status_code=204, response_class=Response)
def delete_conversation(conversation_id: RowId, state: State, caller: Caller) -> Response:
    """Its turns go with it; feedback given on them stays (unlinked, and as private as the conversation was).
    An owned conversation by its owner only (403 for others who may read it shared)."""
    with state.runtime.sessions() as session:
        collection = service.delete_conversation(session, conversation_id, caller.viewer)
    audit.record(state.runtime, caller.actor, "conversation.delete", collection=collection, target=conversation_id)
    return Response(status_code=204)
