"""Collections: create, list (with counts), show, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from rag_service import audit
from rag_service import collections as service
from rag_service.api.deps import Caller, State
from rag_service.api.schemas import CollectionCreate, CollectionList, CollectionOut
from rag_service.errors import ConflictError

router = APIRouter(prefix="/api/collections", tags=["collections"])


@router.post("", status_code=201, response_model=CollectionOut)
def create_collection(body: CollectionCreate, state: State, caller: Caller) -> dict:
    caller.require_create(body.name)
    service.create_collection(state.runtime, body.name, body.embedder)
    info = service.get_collection_info(state.runtime, body.name).to_dict()
    audit.record(
        state.runtime, caller.actor, "collection.create", collection=body.name, details={"embedder": info["embedder"]}
    )
    return info


@router.get("", response_model=CollectionList)
def list_collections(state: State, caller: Caller) -> dict:
    infos = [i.to_dict() for i in service.list_collections(state.runtime) if caller.can_see(i.name)]
    return {"collections": infos}


@router.get("/{name}", response_model=CollectionOut)
def get_collection(name: str, state: State, caller: Caller) -> dict:
    caller.require(name)
    return service.get_collection_info(state.runtime, name).to_dict()


@router.delete("/{name}", status_code=204, response_class=Response)
def delete_collection(name: str, state: State, caller: Caller) -> Response:
    caller.require_manage(name)
    if state.jobs.pending_for(name):
        raise ConflictError(f"collection {name!r} has an ingest queued or running; cancel it first")
    service.delete_collection(state.runtime, name)
    audit.record(state.runtime, caller.actor, "collection.delete", collection=name)
    return Response(status_code=204)
