"""Who runs an ingest run: its lease (owner host:pid and heartbeat), claimed with a conditional update.

Whatever runs a job (the CLI, an API process's thread, a Celery worker on another machine) claims its row first.
The claim holds the collection row's lock (stores/changelog.lock_collection), so two claims of one collection
queue behind each other on PostgreSQL and SQLite alike, and it succeeds only for a run that is queued, or
running under a dead lease (its process is gone: a crashed attempt), while no other live run writes the
collection. A duplicate delivery of a job that is running or finished is therefore a no-op. A run whose
process died `job_max_attempts` times fails with the reason instead of being tried forever.

A lease is dead when its process is known gone (same host, no such pid) or its heartbeat is older than
`job_lease_seconds`.
"""

from __future__ import annotations

import enum
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update

from rag_service.db.models import IngestRun, as_utc, utcnow
from rag_service.runtime import Runtime
from rag_service.stores.changelog import lock_collection

TERMINAL = ("done", "failed", "cancelled", "interrupted")


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this process runs it now
    BUSY = "busy"  # another live run writes the collection: try again later
    GONE = "gone"  # finished, cancelled, running live elsewhere, or no such run: nothing to do
    GAVE_UP = "gave_up"  # its process died job_max_attempts times: now failed


def run_owner() -> str:
    """Host and process id, so that another process can tell whether the run's process is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool | None:
    """True or False for a process on this host; None when it cannot be told (another host, no owner)."""
    if not owner or ":" not in owner:
        return None
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Any run this process creates, claims or resumes is touched after this: one that names this host and pid but
# was last touched before it belongs to an earlier process that had them (a restarted container's server is
# often pid 1 again, or the same pid as before).
PROCESS_STARTED = utcnow()


def from_earlier_process(run: IngestRun) -> bool:
    """Whether a run naming this process (host:pid) was in fact an earlier process's, now gone."""
    if run.owner != run_owner():
        return False
    touched = [t for t in (as_utc(run.heartbeat_at), as_utc(run.resumed_at), as_utc(run.created_at)) if t]
    return bool(touched) and max(touched) < PROCESS_STARTED


def lease_dead(run: IngestRun, lease_seconds: float, now: datetime | None = None) -> bool:
    """Whether a running run's process is gone: known dead on this host, or silent for longer than the lease
    (a live pid with a stale heartbeat is another process that got the number)."""
    if owner_alive(run.owner) is False:
        return True
    beat = as_utc(run.heartbeat_at or run.started_at or run.created_at)
    return beat is None or (now or utcnow()) - beat > timedelta(seconds=lease_seconds)


def claim_run(runtime: Runtime, run_id: int) -> Claim:
    """Take the run for this process if it may run now (see the module's docstring), in one transaction."""
    settings = runtime.settings
    me = run_owner()
    with runtime.sessions() as session:
        collection_id = session.scalar(select(IngestRun.collection_id).where(IngestRun.id == run_id))
        if collection_id is None:
            return Claim.GONE
        lock_collection(session, collection_id)  # from here the rows read are the newest
        run = session.get(IngestRun, run_id, populate_existing=True)
        if run is None or run.status in TERMINAL:
            return Claim.GONE
        now = utcnow()
        if run.cancel_requested:
            run.status, run.finished_at = "cancelled", now
            session.commit()
            return Claim.GONE
        if run.status == "running" and run.owner != me and not lease_dead(run, settings.job_lease_seconds, now):
            return Claim.GONE  # a duplicate delivery: its live owner finishes it
        if run.attempts >= settings.job_max_attempts:
            where = f", the last time while reading {run.current}" if run.current else ""
            run.status, run.finished_at = "failed", now
            run.error = (
                f"gave up after {run.attempts} attempts: the process running it stopped each time{where} "
                "(RAG_JOB_MAX_ATTEMPTS)"
            )
            session.commit()
            return Claim.GAVE_UP
        others = session.scalars(
            select(IngestRun).where(
                IngestRun.collection_id == collection_id, IngestRun.status == "running", IngestRun.id != run_id
            )
        ).all()
        if any(not lease_dead(other, settings.job_lease_seconds, now) for other in others):
            return Claim.BUSY
        run.status, run.owner, run.heartbeat_at = "running", me, now
        run.attempts += 1
        run.started_at = run.started_at or now
        session.commit()
        return Claim.CLAIMED


class Heartbeat:
    """Renews a claimed run's lease every `job_heartbeat_seconds` and turns its cancel flag (set by any replica)
    into `cancel`. If another process took the lease over (this one stalled past it), this one cancels too:
    two writers of one collection never run on."""

    def __init__(self, runtime: Runtime, run_id: int, cancel: threading.Event) -> None:
        self.runtime = runtime
        self.run_id = run_id
        self.cancel = cancel
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        me = run_owner()
        while not self._stop.wait(self.runtime.settings.job_heartbeat_seconds):
            try:
                with self.runtime.sessions() as session:
                    renewed = session.execute(
                        update(IngestRun)
                        .where(IngestRun.id == self.run_id, IngestRun.owner == me, IngestRun.status == "running")
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    ).rowcount
                    cancel = session.scalar(select(IngestRun.cancel_requested).where(IngestRun.id == self.run_id))
                    session.commit()
            except Exception:  # a database blip: the next beat tries again, well inside the lease
                continue
            if not renewed:
                self.lost = True
            if cancel or not renewed:
                self.cancel.set()
