"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from rag_service.api.auth import ForbiddenError
from rag_service.api.deps import Caller, State
from rag_service.api.errors import error_response
from rag_service.api.schemas import ErrorBody

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorBody, "description": "Still loading, or the database is down"}})
def readyz(state: State) -> Response:
    try:
        with state.runtime.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # readiness reports any failure to reach the database
        return error_response(503, "unavailable", f"database unreachable: {type(exc).__name__}")
    if not state.ready:
        return error_response(503, "unavailable", "loading models and indexes")
    # How far this replica's indexes trail the database; searches catch up before they answer regardless.
    lag = state.runtime.indexes.lag()
    return Response(json.dumps({"status": "ready", "replication": lag}), media_type="application/json")


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, caller: Caller) -> Response:
    """Prometheus metrics. With API keys configured they need a key for every collection, since they count
    requests and vectors across all of them."""
    if caller.collections is not None:
        raise ForbiddenError("metrics cover every collection: use a key that is not limited to some")
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
