"""Celery workers: ingest jobs on any machine, over Redis (RAG_BROKER_URL=redis://...) or RabbitMQ (amqp://...).

A message carries only the job id; the job's state, progress, cancel flag and errors live in its row. The
task claims the row (leases.py) before it does anything, so a duplicate delivery is a no-op. Crash safety is
Celery's own: acks_late with reject_on_worker_lost puts the message of a job whose worker process died back
on the queue, prefetch 1 keeps queued jobs off a busy worker, and the visibility timeout is above the task's
time limit (Redis redelivers an unacknowledged message only after it). A worker whose whole machine is gone
acknowledges nothing and renews no lease: every worker's reaper sends the job again once its lease is stale,
and the claim counts the attempt; a queued job that no worker claims for long is sent again too. Each worker
process has one ingest thread and no indexes: it writes the database, and the API replicas follow the change
log.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from sqlalchemy import or_, select, update

from rag_service.db.models import IngestRun, as_utc, utcnow
from rag_service.db.session import get_engine
from rag_service.errors import QueueUnavailableError
from rag_service.indexing import CollectionBusyError, NotClaimedError
from rag_service.jobqueue.base import JobState
from rag_service.jobqueue.resume import AFTER_WORKER_START, resume_interrupted
from rag_service.jobqueue.runner import SourceUnreadableError, run_job
from rag_service.runtime import Runtime
from rag_service.settings import Settings

log = logging.getLogger(__name__)
TASK = "rag_service.ingest"
QUEUE = "rag-ingest"
BUSY_RETRY_SECONDS = 2.0  # a job whose collection another job is writing is offered again this much later
SEND_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0}

_runtime: Runtime | None = None  # the worker process's own, made after the fork
_settings: Settings | None = None


def make_app(settings: Settings) -> Celery:
    global _settings
    _settings = settings
    app = Celery("rag_service", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.job_time_limit_seconds,
        # Redis redelivers an unacknowledged message after this: above any task's time limit, so a long job is
        # never run twice at once (RabbitMQ's consumer_timeout plays this part there: docs/deployment.md).
        broker_transport_options={"visibility_timeout": int(settings.job_time_limit_seconds + 3600)},
        task_ignore_result=True,  # state lives in the database, never in a result backend
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.rag_settings = settings  # type: ignore[attr-defined]
    app.task(name=TASK, bind=True, max_retries=None)(_ingest)
    return app


def _worker_runtime(settings: Settings) -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(settings, migrate=False)
    return _runtime


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """A forked worker process must not use the parent's database connections; it leaves them open for the
    parent (SQLAlchemy's advice for fork: dispose with close=False)."""
    global _runtime
    _runtime = None
    if _settings is not None:
        get_engine(_settings.database_url).dispose(close=False)


def _ingest(task: Task, job_id: int) -> str:
    runtime = _worker_runtime(task.app.rag_settings)  # type: ignore[attr-defined]
    try:
        summary = run_job(runtime, job_id, cancel=threading.Event(), wait=False, load_indexes=False)
    except CollectionBusyError:
        raise task.retry(countdown=BUSY_RETRY_SECONDS) from None
    except NotClaimedError as exc:
        log.info("job %s: nothing to do (%s)", job_id, exc.claim.value)
        return exc.claim.value
    except SourceUnreadableError as exc:
        _fail_queued(runtime, job_id, str(exc))
        return "failed"
    except Exception:  # the run row already says failed, with the reason (indexing._run_claimed)
        log.exception("job %s failed", job_id)
        return "failed"
    return summary.status


def _fail_queued(runtime: Runtime, job_id: int, error: str) -> None:
    with runtime.sessions() as session:
        session.execute(
            update(IngestRun)
            .where(IngestRun.id == job_id, IngestRun.status == "queued")
            .values(status="failed", error=error, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()


def reap_stale(runtime: Runtime, app: Celery) -> int:
    """Send again the jobs that no worker holds: running ones whose worker went silent (a machine lost, a worker
    killed along with its broker connection), their lease stale; and queued ones not claimed for
    `job_resend_queued_seconds` (a broker that lost its messages). Moving the row's heartbeat on with a
    conditional update makes one reaper, of all the workers, send each; a duplicate finds the job taken, and the
    claim that runs it counts the attempt. Returns how many were sent."""
    settings = runtime.settings
    now = utcnow()
    sent = 0
    with runtime.sessions() as session:
        runs = session.execute(
            select(
                IngestRun.id, IngestRun.status, IngestRun.heartbeat_at, IngestRun.started_at, IngestRun.created_at
            ).where(IngestRun.queue == "celery", IngestRun.status.in_(("queued", "running")))
        ).all()
    for run in runs:
        since = as_utc(run.heartbeat_at or (run.started_at if run.status == "running" else run.created_at))
        wait = settings.job_lease_seconds if run.status == "running" else settings.job_resend_queued_seconds
        if since is not None and (now - since).total_seconds() <= wait:
            continue
        with runtime.sessions() as session:
            won = session.execute(
                update(IngestRun)
                .where(
                    IngestRun.id == run.id,
                    IngestRun.status == run.status,
                    or_(IngestRun.heartbeat_at == run.heartbeat_at, IngestRun.heartbeat_at.is_(None)),
                )
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
        if won:
            log.warning("job %s: %s and unheld for over %g s; sending it again", run.id, run.status, wait)
            app.send_task(TASK, args=[run.id], queue=QUEUE)
            sent += 1
    return sent


def _reaper(runtime: Runtime, app: Celery, stop: threading.Event) -> None:
    interval = max(1.0, min(30.0, runtime.settings.job_lease_seconds / 2))
    while not stop.wait(interval):
        try:
            reap_stale(runtime, app)
        except Exception:  # the database or the broker is down for a moment: the next round tries again
            log.exception("reaping stale jobs failed")


def run_worker(settings: Settings, concurrency: int = 1, loglevel: str = "INFO") -> None:
    """`rag-service worker`: a Celery worker of `concurrency` processes, one job each, plus the reaper."""
    runtime = Runtime(settings)  # brings the schema up to date (serialised across processes)
    app = make_app(settings)
    try:
        resume_interrupted(
            runtime, CeleryQueue.name, lambda job: app.send_task(TASK, args=[job.id], queue=QUEUE), AFTER_WORKER_START
        )
    except Exception:  # the worker still takes jobs; those stay interrupted, as their rows say
        log.exception("resuming interrupted upload jobs failed")
    threading.Thread(target=_reaper, args=(runtime, app, threading.Event()), name="reaper", daemon=True).start()
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={max(1, concurrency)}",
            f"--loglevel={loglevel}",
            f"--queues={QUEUE}",
            f"--hostname=rag-worker-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


class CeleryQueue:
    """The API side: it only sends job ids; nothing runs in the API process."""

    name = "celery"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.app = make_app(runtime.settings)

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def enqueue(self, job: JobState) -> None:
        try:
            self.app.send_task(TASK, args=[job.id], queue=QUEUE, retry=True, retry_policy=SEND_RETRY_POLICY)
        except Exception as exc:  # kombu's errors vary by transport: the user needs the one sentence
            error = f"the job queue at RAG_BROKER_URL is unreachable: {type(exc).__name__}: {exc}"
            _fail_queued(self.runtime, job.id, error)
            raise QueueUnavailableError(error) from exc

    def cancel(self, job_id: int) -> bool:
        return False  # the flag on the row reaches the worker; a queued job was cancelled there already

    def live(self, job_id: int) -> tuple[int, JobState] | None:
        return None


__all__ = ["CeleryQueue", "make_app", "reap_stale", "run_worker"]
