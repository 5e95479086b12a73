"""Who may do what, for admins: provider groups mapped to collections and roles, and each signed-in person's
rights with the rules that give them (rag_service/access.py). Every change is in the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Response

from rag_service import access as service
from rag_service import audit
from rag_service.api.deps import Caller, RowId, State
from rag_service.api.schemas import AccessOut, GrantIn, GrantOut

router = APIRouter(prefix="/api/access", tags=["access"])


@router.get("", response_model=AccessOut, response_model_by_alias=True)
def show_access(state: State, caller: Caller) -> dict:
    """The admin groups from settings, every grant, and everyone who has signed in with what they get and why."""
    caller.require_admin()
    admin_groups = state.runtime.settings.oidc_admin_group_names()
    with state.runtime.sessions() as session:
        return {
            "admin_groups": sorted(admin_groups),
            "grants": service.list_grants(session),
            "people": service.explain(session, admin_groups),
        }


@router.put("/grants", response_model=GrantOut)
def set_grant(body: GrantIn, state: State, caller: Caller) -> dict:
    """Give a group a role on a collection (`*`: every one), replacing the role it had there."""
    caller.require_admin()
    with state.runtime.sessions() as session:
        grant = service.set_grant(session, body.group, body.collection, body.role, caller.actor)
    audit.record(
        state.runtime,
        caller.actor,
        "access.grant",
        collection=None if body.collection == service.EVERY else body.collection,
        target=grant["id"],
        details={"group": grant["group"], "collection": grant["collection"], "role": grant["role"]},
    )
    return grant


@router.delete("/grants/{grant_id}", status_code=204, response_class=Response)
def delete_grant(grant_id: RowId, state: State, caller: Caller) -> Response:
    caller.require_admin()
    with state.runtime.sessions() as session:
        removed = service.delete_grant(session, grant_id)
    audit.record(
        state.runtime,
        caller.actor,
        "access.revoke",
        collection=None if removed["collection"] == service.EVERY else str(removed["collection"]),
        target=grant_id,
        details=removed,
    )
    return Response(status_code=204)
