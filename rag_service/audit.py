"""The audit trail: who asked, searched, uploaded, synced or deleted what, as rows of `audit_events`.

Front doors pass the caller's `actor` (api/auth.py's `Principal.actor`, `cli:<user>` for the CLI) to `record`,
after the service did its work; an ask is recorded by the ask path itself (`answering/service.py`), since it
alone sees the answer. Recording never fails the caller's request: a row that cannot be written is logged and
the request goes on. With `RAG_AUDIT_QUESTIONS=false` what people typed or were shown as text (questions,
queries, answers, titles, comments: the `private` fields) is left out; everything else stays.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import threading
from collections.abc import Collection as Names
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from rag_service.db.models import AuditEvent, as_utc, utcnow
from rag_service.settings import Settings

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 24 * 3600.0
EXPORT_BATCH = 1000
SYSTEM_ACTOR = "system"  # what the service does by itself: retention purges, the keys in force at start


class Store(Protocol):
    """What the trail needs of a caller's runtime (`runtime.Runtime` is one)."""

    settings: Settings
    sessions: sessionmaker[Session]


def os_user_actor() -> str:
    """`cli:<OS user>`: the operator at a terminal (or a local process a client started, such as `mcp`)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


@dataclass
class Filters:
    since: datetime | None = None  # at >= since
    until: datetime | None = None  # at < until
    actor: str | None = None
    action: str | None = None
    collection: str | None = None
    # The collections the reader may see (None: all); events of no collection only for readers of all.
    visible: Names[str] | None = None


def as_utc_bound(moment: datetime | None) -> datetime | None:
    """A time bound as aware UTC: a naive one is taken as UTC; one past the ends of the calendar once moved
    to UTC (year 1 at +14:00) is held at the end."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def record(
    store: Store,
    actor: str,
    action: str,
    *,
    collection: str | None = None,
    target: str | int | None = None,
    details: Mapping[str, Any] | None = None,
    private: Mapping[str, Any] | None = None,
) -> None:
    """One event, in its own transaction. `private`: text people typed or were shown, kept only while
    RAG_AUDIT_QUESTIONS is on. Never raises: the trail must not cost anyone their request."""
    values = dict(details or {})
    if private and store.settings.audit_questions:
        values.update(private)
    try:
        with store.sessions() as session:
            session.add(
                AuditEvent(
                    actor=actor[:200],
                    action=action,
                    collection=collection,
                    target=None if target is None else str(target),
                    details=values,
                )
            )
            session.commit()
    except Exception:
        log.exception("could not record the audit event %s by %s", action, actor)


def _where(filters: Filters) -> list[Any]:
    where: list[Any] = []
    since, until = as_utc_bound(filters.since), as_utc_bound(filters.until)
    if since is not None:
        where.append(AuditEvent.at >= since)
    if until is not None:
        where.append(AuditEvent.at < until)
    if filters.actor is not None:
        where.append(AuditEvent.actor == filters.actor)
    if filters.action is not None:
        where.append(AuditEvent.action == filters.action)
    if filters.collection is not None:
        where.append(AuditEvent.collection == filters.collection)
    if filters.visible is not None:
        where.append(AuditEvent.collection.in_(list(filters.visible)))
    return where


def to_dict(event: AuditEvent) -> dict[str, Any]:
    at = as_utc(event.at)
    return {
        "id": event.id,
        "at": at.isoformat() if at is not None else None,
        "actor": event.actor,
        "action": event.action,
        "collection": event.collection,
        "target": event.target,
        "details": event.details or {},
    }


def list_events(session: Session, filters: Filters, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Newest first: a page of events and how many match in all."""
    where = _where(filters)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    newest_first = (AuditEvent.at.desc(), AuditEvent.id.desc())
    rows = session.scalars(select(AuditEvent).where(*where).order_by(*newest_first).offset(offset).limit(limit))
    return [to_dict(row) for row in rows], total


def export_jsonl(
    session: Session, since: datetime | None = None, until: datetime | None = None, filters: Filters | None = None
) -> Iterator[str]:
    """Oldest first, one JSON object a line (with its newline), read in batches so a year's trail streams.
    `filters`, when given, are all of `list_events`' (and `since`/`until` are not read)."""
    where = _where(filters or Filters(since=since, until=until))
    last_id: int | None = None
    while True:
        page = select(AuditEvent).where(*where)
        if last_id is not None:
            page = page.where(AuditEvent.id > last_id)
        rows = session.scalars(page.order_by(AuditEvent.id).limit(EXPORT_BATCH)).all()
        for row in rows:
            yield json.dumps(to_dict(row), ensure_ascii=False) + "\n"
        if len(rows) < EXPORT_BATCH:
            return
        last_id = rows[-1].id
        session.expunge_all()  # a long export holds one batch in memory, not the whole trail


def export_stream(store: Store, actor: str, filters: Filters, asked: Mapping[str, Any]) -> Iterator[str]:
    """`export_jsonl` in a session of its own, for a response that streams after its handler returned; once the
    last line is out (or the reader went away), the export is recorded as `audit.export` with the filters
    asked for and how many events it gave."""
    count, complete = 0, False
    try:
        with store.sessions() as session:
            for line in export_jsonl(session, filters=filters):
                yield line
                count += 1
        complete = True
    finally:
        details = {name: str(value) for name, value in asked.items() if value}
        details["events"] = count
        if not complete:
            details["incomplete"] = True
        record(store, actor, "audit.export", collection=filters.collection, details=details)


def purge(store: Store, older_than_days: float, now: datetime | None = None) -> int:
    """Delete events older than this many days (0 or less: none); how many went."""
    if older_than_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    with store.sessions() as session:
        removed = session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount or 0
        session.commit()
    return int(removed)


def purge_expired(store: Store, actor: str = SYSTEM_ACTOR) -> int:
    """RAG_AUDIT_RETENTION_DAYS applied now; the purge itself is recorded when it removed anything."""
    days = store.settings.audit_retention_days
    removed = purge(store, days)
    if removed:
        record(store, actor, "audit.purge", details={"removed": removed, "older_than_days": days})
    return removed


class RetentionLoop:
    """The server's purge: at start, then about once a day, on a daemon thread. Several replicas may each run
    one: deleting what is already gone costs nothing."""

    def __init__(self, store: Store, interval: float = PURGE_INTERVAL_SECONDS) -> None:
        self.store, self.interval = store, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.store.settings.audit_retention_days <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="audit-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge_expired(self.store)
            except Exception:  # a database away for a while: try again at the next round
                log.exception("audit retention purge failed")
            self._stop.wait(self.interval)


def record_keys_in_force(store: Store, keys: list[dict[str, Any]]) -> None:
    """The API keys' names and rights (never the keys) as an `access.keys` event, when they differ from the last
    one recorded: who could do what, from when."""
    try:
        with store.sessions() as session:
            last = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "access.keys")
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(1)
            ).first()
            if last is not None and (last.details or {}).get("keys") == keys:
                return
    except Exception:
        log.exception("could not read the last access.keys audit event")
        return
    record(store, SYSTEM_ACTOR, "access.keys", details={"keys": keys})
