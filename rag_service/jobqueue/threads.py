"""The embedded queue: jobs run on a few threads of the API process, never two of one collection at once.

Live progress is kept in memory for event streams and written to the run's row at most a second behind (for
other processes). One collection's long job leaves the other threads to the other collections. A job still
queued when its process stops is closed as `interrupted` by the next process (indexing.close_dead_runs).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from rag_service.db.models import IngestRun, utcnow
from rag_service.indexing import IngestSummary, NotClaimedError, close_dead_runs
from rag_service.jobqueue.base import TERMINAL, JobState
from rag_service.jobqueue.runner import SourceUnreadableError, run_job
from rag_service.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class _Held:
    state: JobState
    cancel: threading.Event = field(default_factory=threading.Event)


class ThreadQueue:
    name = "thread"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pending: list[_Held] = []  # in submission order
        self._running: set[str] = set()  # collections with a job on a thread
        self._jobs: dict[int, _Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self.ingested_files = 0  # by this process's jobs, for /metrics
        self.embedded_chunks = 0

    def start(self) -> None:
        closed = close_dead_runs(self.runtime)
        if closed:
            log.warning("%d ingest runs of stopped processes marked interrupted", closed)
        for n in range(max(1, self.runtime.settings.job_workers)):
            thread = threading.Thread(target=self._work, name=f"ingest-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            for held in self._jobs.values():
                held.cancel.set()
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def enqueue(self, job: JobState) -> None:
        held = _Held(job)
        with self._wake:
            self._jobs[job.id] = held
            self._pending.append(held)
            self._wake.notify_all()

    def live(self, job_id: int) -> tuple[int, JobState] | None:
        with self._lock:
            held = self._jobs.get(job_id)
            if held is None:
                return None
            state = held.state
            return state.version, replace(state, failures=list(state.failures), skipped=list(state.skipped))

    def cancel(self, job_id: int) -> bool:
        with self._lock:
            held = self._jobs.get(job_id)
        if held is None:
            return False
        held.cancel.set()
        with self._wake:
            queued = held in self._pending
            if queued:
                self._pending.remove(held)
        if queued:
            self._finish(held, "cancelled")
        return queued

    def _update(self, held: _Held, **values: Any) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(held.state, key, value)
            held.state.version += 1

    def _finish(self, held: _Held, status: str, error: str | None = None) -> None:
        self._update(held, status=status, error=error, finished_at=utcnow())
        with self.runtime.sessions() as session:
            run = session.get(IngestRun, held.state.id)
            if run is not None and run.status not in TERMINAL:
                run.status, run.error, run.finished_at = status, error, utcnow()
                session.commit()

    def _next(self) -> _Held | None:
        """The oldest queued job whose collection has none running; the caller holds the lock."""
        for held in self._pending:
            if held.state.collection not in self._running:
                self._pending.remove(held)
                self._running.add(held.state.collection)
                return held
        return None

    def _work(self) -> None:
        while True:
            with self._wake:
                held = self._next()
                while held is None and not self._stopping:
                    self._wake.wait()
                    held = self._next()
                if self._stopping:
                    if held is not None:
                        self._running.discard(held.state.collection)
                    return
            try:
                if not held.cancel.is_set():
                    self._run(held)
            finally:
                with self._wake:
                    self._running.discard(held.state.collection)
                    self._wake.notify_all()

    def _run(self, held: _Held) -> None:
        def started() -> None:  # claimed: from here on the job is running
            self._update(held, status="running", started_at=utcnow())

        def progress(summary: IngestSummary, current: str) -> None:
            self._update(
                held,
                files_total=summary.files_total,
                files_done=summary.files_done,
                files_read=summary.files_read,
                chunks_split=summary.chunks_split,
                chunks_embedded=summary.chunks_embedded,
                failures=list(summary.failed),
                skipped=list(summary.skipped),
                current=current,
            )

        try:
            summary = run_job(self.runtime, held.state.id, cancel=held.cancel, progress=progress, on_start=started)
        except NotClaimedError:  # ended elsewhere before it started (a cancel from another replica): as its row says
            with self.runtime.sessions() as session:
                run = session.get(IngestRun, held.state.id)
                status, error = (run.status, run.error) if run is not None else ("cancelled", None)
            self._finish(held, status if status in TERMINAL else "cancelled", error)
            return
        except Exception as exc:  # the job fails, the server goes on
            log.exception("ingest job %s failed", held.state.id)
            plain = isinstance(exc, SourceUnreadableError)  # its message is the sentence a user reads
            self._finish(held, "failed", str(exc) if plain else f"{type(exc).__name__}: {exc}")
            return
        self.ingested_files += summary.added + summary.updated
        self.embedded_chunks += summary.chunks_embedded
        self._update(held, summary=summary.to_dict(), failures=list(summary.failed))
        self._finish(held, summary.status)
