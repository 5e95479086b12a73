"""What every job queue shares: a job's state as the API shows it, and the interface a queue implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rag_service.db.models import IngestRun
from rag_service.leases import TERMINAL

UPLOAD_SOURCE = "upload"
__all__ = ["TERMINAL", "UPLOAD_SOURCE", "JobQueue", "JobState", "state_from_row"]


@dataclass
class JobState:
    id: int
    collection: str
    source: str  # the folder on the server (not shown to every caller: see to_dict)
    status: str = "queued"
    files_total: int = 0
    files_done: int = 0
    files_read: int = 0  # read and split, ahead of files_done (embedded and written)
    chunks_split: int = 0
    chunks_embedded: int = 0
    current: str = ""
    failures: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # passed over by the walk, with why
    summary: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    upload: bool = False  # files uploaded through the API, kept in the originals store
    resumes: int = 0  # times it was taken up again after its process stopped (jobqueue/resume.py)
    resumed_at: datetime | None = None
    note: str = ""  # what happened to it besides its status ("... resumed after the server restarted")
    version: int = 0  # bumped on every change, so event streams send only what is new

    def to_dict(self, *, show_path: bool = False) -> dict[str, Any]:
        """The job as the API shows it: an upload's source is "upload"; a synced folder's path is shown only
        to callers who may write the collection (they chose it), else "sync"."""
        source = UPLOAD_SOURCE if self.upload else (self.source if show_path else "sync")
        return {
            "id": self.id,
            "collection": self.collection,
            "source": source,
            "status": self.status,
            "files_total": self.files_total,
            "files_done": self.files_done,
            "files_read": max(self.files_read, self.files_done),
            "chunks_split": self.chunks_split,
            "chunks_embedded": self.chunks_embedded,
            "current": self.current,
            "failures": self.failures,
            "skipped": self.skipped,
            "summary": self.summary,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "resumes": self.resumes,
            "resumed_at": self.resumed_at.isoformat() if self.resumed_at else None,
            "note": self.note,
        }


def state_from_row(run: IngestRun, collection: str, *, upload: bool) -> JobState:
    """A job as its row has it: what every process but the one running it shows (at most a second behind)."""
    return JobState(
        id=run.id,
        collection=collection,
        source=run.source,
        status=run.status,
        files_total=run.files_total,
        files_done=run.files_done,
        files_read=run.files_read,
        chunks_split=run.chunks_split,
        chunks_embedded=run.chunks_embedded,
        current=run.current if run.status == "running" else "",
        failures=list(run.failures or []),
        skipped=list(run.skipped_files or []),
        summary=(
            {"added": run.added, "updated": run.updated, "unchanged": run.unchanged, "deleted": run.deleted}
            if run.status in TERMINAL
            else None
        ),
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        upload=upload,
        resumes=run.resumes,
        resumed_at=run.resumed_at,
        note=run.note,
        version=run.progress_version,
    )


class JobQueue(Protocol):
    """Runs queued ingest runs; a new queue is one module implementing this plus one line in QUEUES."""

    name: str  # recorded on the run row (IngestRun.queue)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def enqueue(self, job: JobState) -> None:
        """Take a job whose row exists, queued; what to ingest is read from the row when it runs."""
        ...

    def cancel(self, job_id: int) -> bool:
        """Stop the job if this process holds it; True when it was still queued here (now dropped)."""
        ...

    def live(self, job_id: int) -> tuple[int, JobState] | None:
        """(version, state) of a job this process is running or holding, fresher than its row; else None."""
        ...
