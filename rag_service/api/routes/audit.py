"""The audit trail, for keys with the admin flag (and everyone on a server without keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from rag_service import audit as service
from rag_service.api.deps import Caller, State
from rag_service.api.schemas import AuditPage
from rag_service.db.models import utcnow

router = APIRouter(prefix="/api", tags=["audit"])
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
JSON_LINES = "application/x-ndjson"


def _iso_only(value: Any) -> Any:
    # Pydantic would read a number as a Unix time; the schema says an ISO 8601 date-time, so that is all it takes.
    if isinstance(value, str) and NUMBER.fullmatch(value):
        raise ValueError("an ISO 8601 date-time (2026-12-01T00:00:00Z), not a number")
    return value


Moment = Annotated[datetime | None, BeforeValidator(_iso_only)]


@dataclass
class Asked:
    """The filters both reads take, as the caller gave them."""

    since: datetime | None
    until: datetime | None
    actor: str | None
    action: str | None
    collection: str | None

    def filters(self, visible: frozenset[str] | None) -> service.Filters:
        """As the service reads them, within the collections the caller may see (None: all)."""
        return service.Filters(
            since=self.since,
            until=self.until,
            actor=self.actor,
            action=self.action,
            collection=self.collection,
            visible=visible,
        )

    def given(self) -> dict[str, Any]:
        """What the trail records of a read: the filters besides the collection (the event's own column)."""
        return {"since": self.since, "until": self.until, "actor": self.actor, "action": self.action}


def _asked(
    since: Annotated[Moment, Query(description="From this time on (ISO 8601; without a zone: UTC).")] = None,
    until: Annotated[Moment, Query(description="Before this time (ISO 8601; without a zone: UTC).")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="Only this actor's.")] = None,
    action: Annotated[str | None, Query(max_length=50, description="Only this action (ask, upload, ...).")] = None,
    collection: Annotated[str | None, Query(max_length=200, description="Only this collection's.")] = None,
) -> Asked:
    return Asked(since=since, until=until, actor=actor, action=action, collection=collection)


AuditFilters = Annotated[Asked, Depends(_asked)]


@router.get("/audit", response_model=AuditPage)
def list_audit_events(
    state: State,
    caller: Caller,
    asked: AuditFilters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    """Newest first. 403 for a key without the admin flag; an admin key limited to some collections sees only
    their events. Each read is itself recorded (`audit.read`), with its filters."""
    caller.require_admin()
    with state.runtime.sessions() as session:
        items, total = service.list_events(session, asked.filters(caller.collections), limit=limit, offset=offset)
    details = {name: str(value) for name, value in {**asked.given(), "offset": offset}.items() if value}
    service.record(state.runtime, caller.actor, "audit.read", collection=asked.collection, details=details)
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {JSON_LINES: {}}, "description": "One event a line, as /api/audit gives them."}},
)
def export_audit_events(state: State, caller: Caller, asked: AuditFilters) -> StreamingResponse:
    """Every event the filters match as JSON Lines, oldest first, streamed as a download (what `rag-service audit
    export` writes). Admins only, like /api/audit; recorded as `audit.export` with the filters and the count."""
    caller.require_admin()
    lines = service.export_stream(state.runtime, caller.actor, asked.filters(caller.collections), asked.given())
    name = f"audit-{utcnow():%Y%m%d-%H%M%S}.jsonl"
    return StreamingResponse(
        lines, media_type=JSON_LINES, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
