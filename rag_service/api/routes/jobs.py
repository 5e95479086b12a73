"""Ingest jobs: status, live progress as Server-Sent Events, cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from rag_service.api.deps import Caller, RowId, State
from rag_service.api.schemas import JobOut
from rag_service.jobs import TERMINAL

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
POLL_SECONDS = 0.25


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: RowId, state: State, caller: Caller) -> dict:
    job = state.jobs.get(job_id)
    caller.require(job.collection)
    return job.to_dict()


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def job_events(job_id: RowId, request: Request, state: State, caller: Caller) -> EventSourceResponse:
    """`progress` events while the job runs, then one `done` event with the final state."""
    first = await run_in_threadpool(state.jobs.get, job_id)
    caller.require(first.collection)

    async def stream() -> AsyncIterator[dict]:
        sent = -1
        while not await request.is_disconnected():
            version, snapshot = await run_in_threadpool(state.jobs.snapshot, job_id)
            if snapshot["status"] in TERMINAL:
                yield {"event": "done", "data": json.dumps(snapshot)}
                return
            if version != sent:
                sent = version
                yield {"event": "progress", "data": json.dumps(snapshot)}
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)


@router.delete("/{job_id}", response_model=JobOut)
def cancel_job(job_id: RowId, state: State, caller: Caller) -> dict:
    """Cancel a queued or running job; files already committed stay, the rest is left for the next run."""
    job = state.jobs.get(job_id)
    caller.require(job.collection, write=True)
    return state.jobs.cancel(job_id).to_dict()
