"""The change log of each collection's chunks: what API replicas apply to their in-memory indexes to catch up.

A writer records the chunk ids it added and removed in the same transaction as the rows, under the next number
of the collection's `change_seq`. Bumping that counter is the writer's last statement before commit, and the
row lock it takes is held until commit, so a second writer of the collection waits and gets the next number
only after the first has committed: the numbers have no gaps in commit order, and a reader that has seen
change n has seen every change before it. (An autoincrement id would not do: ids are handed out at insert,
so a transaction that commits late can slip a smaller id behind a reader that has already moved past it.)

On PostgreSQL the writer also sends a NOTIFY, delivered at commit, that wakes the replicas' followers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from rag_service.db.models import ChunkChange, Collection, as_utc, utcnow

NOTIFY_CHANNEL = "rag_chunk_changes"
ADD, REMOVE = "add", "remove"


@dataclass(frozen=True)
class Changes:
    """The changes after some number, folded: every chunk id they touched, and the number of the last one."""

    touched: list[int]
    last_seq: int


def lock_collection(session: Session, collection_id: int) -> None:
    """Take the collection row's write lock until commit (a no-op update): writers of one collection, and the
    claims of its jobs, queue behind each other here on PostgreSQL and SQLite alike."""
    session.execute(
        update(Collection)
        .where(Collection.id == collection_id)
        .values(change_seq=Collection.change_seq)
        .execution_options(synchronize_session=False)
    )


def record_changes(
    session: Session, collection_id: int, added: Iterable[int] = (), removed: Iterable[int] = ()
) -> int | None:
    """Log one change in the caller's transaction: call it last, just before commit. Returns its number, or None
    when nothing changed."""
    added, removed = list(added), list(removed)
    if not added and not removed:
        return None
    seq = session.execute(
        update(Collection)
        .where(Collection.id == collection_id)
        .values(change_seq=Collection.change_seq + 1)
        .returning(Collection.change_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    now = utcnow()
    rows = [
        {"collection_id": collection_id, "seq": seq, "chunk_id": chunk_id, "op": op, "committed_at": now}
        for op, ids in ((REMOVE, removed), (ADD, added))
        for chunk_id in ids
    ]
    session.execute(insert(ChunkChange), rows)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_CHANNEL, "payload": str(seq)})
    return int(seq)


class LogPrunedError(Exception):
    """The changes after this number are no longer all in the log: compare with the rows instead."""


def changes_after(session: Session, collection_id: int, seq: int) -> Changes | None:
    """The collection's changes numbered above `seq`, or None when there are none; LogPrunedError when some of
    them were pruned."""
    floor = session.scalar(select(Collection.change_log_floor).where(Collection.id == collection_id)) or 0
    if seq < floor:
        raise LogPrunedError(f"collection {collection_id}: changes up to {floor} were pruned, index holds {seq}")
    rows = session.execute(
        select(ChunkChange.seq, ChunkChange.chunk_id)
        .where(ChunkChange.collection_id == collection_id, ChunkChange.seq > seq)
        .order_by(ChunkChange.seq)
    ).all()
    if not rows:
        return None
    return Changes(touched=sorted({row.chunk_id for row in rows}), last_seq=int(rows[-1].seq))


def oldest_change_after(session: Session, collection_id: int, seq: int) -> datetime | None:
    """When the first change numbered above `seq` was written: how old a replica's view is."""
    return as_utc(
        session.scalar(
            select(ChunkChange.committed_at)
            .where(ChunkChange.collection_id == collection_id, ChunkChange.seq > seq)
            .order_by(ChunkChange.seq)
            .limit(1)
        )
    )


def current_seqs(session: Session, collection_ids: Sequence[int]) -> dict[int, int]:
    """The newest change number of each collection that still exists."""
    if not collection_ids:
        return {}
    rows = session.execute(
        select(Collection.id, Collection.change_seq).where(Collection.id.in_(list(collection_ids)))
    ).all()
    return {int(row.id): int(row.change_seq) for row in rows}


def prune_changes(session: Session, older_than: datetime) -> int:
    """Drop the changes written before `older_than`, raising each collection's floor; returns rows deleted."""
    deleted = 0
    for collection_id in session.scalars(select(Collection.id)).all():
        floor = session.scalar(
            select(func.max(ChunkChange.seq)).where(
                ChunkChange.collection_id == collection_id, ChunkChange.committed_at < older_than
            )
        )
        if not floor:
            continue
        deleted += (
            session.execute(
                delete(ChunkChange).where(ChunkChange.collection_id == collection_id, ChunkChange.seq <= floor)
            ).rowcount
            or 0
        )
        session.execute(
            update(Collection)
            .where(Collection.id == collection_id, Collection.change_log_floor < floor)
            .values(change_log_floor=floor)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return deleted
