"""Saved conversations: list, create, read, rename, delete; scoped by API key like their collections.

A read-only key may keep conversations: they are what asking produces, not changes to a collection."""

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
    ConversationSummary,
)
from rag_service.collections import find_collection

router = APIRouter(prefix="/api", tags=["conversations"])


@router.get("/conversations", response_model=ConversationList)
def list_conversations(
    state: State,
    caller: Caller,
    collection: Annotated[str | None, Query(max_length=64, description="Only this collection's.")] = None,
) -> dict:
    """Newest first, only of the collections the key may see."""
    if collection is not None:
        return collection_conversations(collection, state, caller)
    with state.runtime.sessions() as session:
        return {"conversations": service.list_conversations(session, caller.collections)}


@router.get("/collections/{name}/conversations", response_model=ConversationList)
def collection_conversations(name: str, state: State, caller: Caller) -> dict:
    caller.require(name)
    with state.runtime.sessions() as session:
        find_collection(session, name)
        return {"conversations": service.list_conversations(session, [name])}


@router.post("/conversations", status_code=201, response_model=ConversationSummary)
def create_conversation(body: ConversationCreate, state: State, caller: Caller) -> dict:
    caller.require(body.collection)
    with state.runtime.sessions() as session:
        created = service.create_conversation(session, body.collection, body.title)
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
    """Its turns in order: question, answer, citations, the passages shown, and any feedback given."""
    with state.runtime.sessions() as session:
        return service.get_conversation(session, conversation_id, caller.collections)


@router.patch("/conversations/{conversation_id}", response_model=ConversationSummary)
def rename_conversation(conversation_id: RowId, body: ConversationRename, state: State, caller: Caller) -> dict:
    with state.runtime.sessions() as session:
        renamed = service.rename_conversation(session, conversation_id, body.title, caller.collections)
    audit.record(
        state.runtime,
        caller.actor,
        "conversation.rename",
        collection=renamed["collection"],
        target=conversation_id,
        private={"title": renamed["title"]},
    )
    return renamed


@router.delete("/conversations/{conversation_id}", status_code=204, response_class=Response)
def delete_conversation(conversation_id: RowId, state: State, caller: Caller) -> Response:
    """Its turns go with it; feedback given on them stays (unlinked)."""
    with state.runtime.sessions() as session:
        collection = service.conversation_collection(session, conversation_id, caller.collections)
        service.delete_conversation(session, conversation_id, caller.collections)
    audit.record(state.runtime, caller.actor, "conversation.delete", collection=collection, target=conversation_id)
    return Response(status_code=204)
