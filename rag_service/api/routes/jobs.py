"""Ingest jobs: status, live progress as Server-Sent Events, cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from rag_service import audit
from rag_service.api.auth import Principal
from rag_service.api.deps import Caller, RowId, State
from rag_service.api.schemas import JobOut
from rag_service.errors import NotFoundError
from rag_service.jobs import TERMINAL, JobState

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
POLL_SECONDS = 0.25


def _visible(state: State, caller: Principal, job_id: int) -> JobState:
    """The job, or 404 for a key without access to its collection, exactly as for a job that does not exist."""
    job = state.jobs.get(job_id)
    if not caller.can_see(job.collection):
        raise NotFoundError(f"no job {job_id}")
    return job


@router.get("", response_model=list[JobOut])
def latest_job(state: State, caller: Caller, collection: str = Query(..., max_length=200)) -> list[dict]:
    """The collection's newest job, as a list of at most one: what its upload panel shows after a reload."""
    if not caller.can_see(collection):
        raise NotFoundError(f"no collection named {collection!r}")
    job = state.jobs.latest(collection)
    return [job.to_dict(show_path=not caller.read_only)] if job is not None else []


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: RowId, state: State, caller: Caller) -> dict:
    """A job's state. `source` is "upload" for uploads; a synced folder's path only for keys that may write."""
    return _visible(state, caller, job_id).to_dict(show_path=not caller.read_only)


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def job_events(job_id: RowId, request: Request, state: State, caller: Caller) -> EventSourceResponse:
    """`progress` events while the job runs, then one `done` event with the final state."""
    await run_in_threadpool(_visible, state, caller, job_id)
    show_path = not caller.read_only

    async def stream() -> AsyncIterator[dict]:
        sent = -1
        while not await request.is_disconnected():
            version, job = await run_in_threadpool(state.jobs.snapshot, job_id)
            if job.status in TERMINAL:
                yield {"event": "done", "data": json.dumps(job.to_dict(show_path=show_path))}
                return
            if version != sent:
                sent = version
                yield {"event": "progress", "data": json.dumps(job.to_dict(show_path=show_path))}
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)


@router.delete(
    "/{job_id}",
    response_model=JobOut,
    responses={
        200: {
            "description": "The job after the cancel was asked for. DELETE cancels, it does not remove: the job "
            "stays readable at GET /api/jobs/{job_id}, `cancelled` once it has stopped (or its final status, "
            "when it had finished already)."
        }
    },
)
def cancel_job(job_id: RowId, state: State, caller: Caller) -> dict:
    """Cancel a queued or running job; files already committed stay, the rest is left for the next run. The
    job's record stays (its progress and failures are what the upload panel shows), so GET still finds it."""
    job = _visible(state, caller, job_id)
    caller.require(job.collection, write=True)
    cancelled = state.jobs.cancel(job_id).to_dict(show_path=True)
    audit.record(state.runtime, caller.actor, "job.cancel", collection=job.collection, target=job_id)
    return cancelled
