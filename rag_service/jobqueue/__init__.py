"""Job queues: what runs ingest jobs, chosen by RAG_JOB_QUEUE (auto: celery when RAG_BROKER_URL is set).

A new queue is one module implementing `JobQueue` (base.py) plus one line in QUEUES.
"""

from __future__ import annotations

from collections.abc import Callable

from rag_service.errors import ConfigurationError
from rag_service.jobqueue.base import JobQueue
from rag_service.runtime import Runtime


def _threads(runtime: Runtime) -> JobQueue:
    from rag_service.jobqueue.threads import ThreadQueue

    return ThreadQueue(runtime)


def _celery(runtime: Runtime) -> JobQueue:
    from rag_service.jobqueue.celery_queue import CeleryQueue  # imports Celery only where it is used

    return CeleryQueue(runtime)


QUEUES: dict[str, Callable[[Runtime], JobQueue]] = {"thread": _threads, "celery": _celery}


def build_job_queue(runtime: Runtime) -> JobQueue:
    name = runtime.settings.job_queue_backend
    if name not in QUEUES:
        raise ConfigurationError(f"RAG_JOB_QUEUE={name!r}: choose one of {', '.join(['auto', *QUEUES])}")
    if name == "celery" and not runtime.settings.broker_url:
        raise ConfigurationError("RAG_JOB_QUEUE=celery needs RAG_BROKER_URL (redis://... or amqp://...)")
    return QUEUES[name](runtime)
