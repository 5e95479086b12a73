"""The audit trail, for keys with the admin flag (and everyone on a server without keys)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from rag_service import audit as service
from rag_service.api.deps import Caller, State
from rag_service.api.schemas import AuditPage

router = APIRouter(prefix="/api", tags=["audit"])
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_only(value: Any) -> Any:
    # Pydantic would read a number as a Unix time; the schema says an ISO 8601 date-time, so that is all it takes.
    if isinstance(value, str) and NUMBER.fullmatch(value):
        raise ValueError("an ISO 8601 date-time (2026-12-01T00:00:00Z), not a number")
    return value


Moment = Annotated[datetime | None, BeforeValidator(_iso_only)]


@router.get("/audit", response_model=AuditPage)
def list_audit_events(
    state: State,
    caller: Caller,
    since: Annotated[Moment, Query(description="From this time on (ISO 8601; without a zone: UTC).")] = None,
    until: Annotated[Moment, Query(description="Before this time (ISO 8601; without a zone: UTC).")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="Only this actor's.")] = None,
    action: Annotated[str | None, Query(max_length=50, description="Only this action (ask, upload, ...).")] = None,
    collection: Annotated[str | None, Query(max_length=200, description="Only this collection's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    """Newest first. 403 for a key without the admin flag; an admin key limited to some collections sees only
    their events. Each read is itself recorded (`audit.read`), with its filters."""
    caller.require_admin()
    filters = service.Filters(
        since=since, until=until, actor=actor, action=action, collection=collection, visible=caller.collections
    )
    with state.runtime.sessions() as session:
        items, total = service.list_events(session, filters, limit=limit, offset=offset)
    asked = {"since": since, "until": until, "actor": actor, "action": action, "offset": offset}
    details = {name: str(value) for name, value in asked.items() if value}
    service.record(state.runtime, caller.actor, "audit.read", collection=collection, details=details)
    return {"items": items, "total": total, "offset": offset, "limit": limit}
