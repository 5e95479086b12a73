"""The sync of a folder into a collection: what changed (by sha256) → ingest/ → embed (cached) → stores + rows.

Each file is committed in its own transaction, after its vectors are in the embedding cache; the FAISS file
is saved at checkpoints and at the end. A crash or a kill in between leaves the database consistent, and
the index registry repairs the FAISS file from the database at the next load. Each file's transaction also
logs its chunk changes (stores/changelog.py), which every other process that searches follows. Runs on one
collection are serialised by a lock file on this machine and by the run's claim on any (leases.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingest.loaders import loader_for
from ingest.split import split_sections
from ingest.types import LoadError, LoadOptions, TextChunk
from ingest.walk import walk_folder
from rag_service.collections import get_or_create_collection
from rag_service.db.embedding_cache import load_cached_vectors, store_cached_vectors
from rag_service.db.models import Chunk, Collection, Document, IngestRun, utcnow
from rag_service.embedders import Embedder
from rag_service.leases import (
    Claim,
    Heartbeat,
    claim_run,
    from_earlier_process,
    lease_dead,
    owner_alive,
    run_owner,
)
from rag_service.runtime import Runtime
from rag_service.settings import Settings
from rag_service.stores.changelog import record_changes
from rag_service.stores.registry import CollectionIndexes

log = logging.getLogger(__name__)
PREPARE_AHEAD = 64  # files read and split ahead of the embedder
WAIT_SECONDS = 0.25  # how often waits look at the cancel flag
PROGRESS_SAVE_SECONDS = 1.0  # the run row's counts of unchanged files are at most this old
EMBED_SLICE_BATCHES = 4  # embedder batches per call: the cancel check and progress come between calls


@dataclass
class IngestSummary:
    collection: str
    run_id: int
    files_total: int = 0
    files_done: int = 0
    # Written by the preparing thread only: files read and split so far, and the chunks they were split into.
    files_read: int = 0
    chunks_split: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    status: str = "running"

    def to_dict(self) -> dict:
        return {
            "collection": self.collection,
            "run_id": self.run_id,
            "status": self.status,
            "files_total": self.files_total,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "skipped": self.skipped,
            "chunks_embedded": self.chunks_embedded,
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
        }


ProgressCallback = Callable[[IngestSummary, str], None]
SAVING_INDEX = "saving the search index"  # the step after the last file


class IngestCancelledError(Exception):
    pass


@dataclass
class _Loaded:
    """A file read, hashed and split, waiting for its embeddings."""

    path: str
    sha256: str
    size: int
    mtime: float
    type: str
    chunks: list[TextChunk]
    document_id: int | None
    hashes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Unchanged:
    path: str
    touch: tuple[int, int, float] | None  # (document id, size, mtime) when only the mtime moved


@dataclass(frozen=True)
class _Failed:
    path: str
    previous: _Known | None
    reason: str
    sha256: str | None = None
    size: int = 0
    mtime: float = 0.0
    type: str = "unknown"


@dataclass(frozen=True)
class _Known:
    """A document as the database has it before this run."""

    id: int
    sha256: str | None
    size: int
    mtime: float
    status: str


LOCK_POLL_SECONDS = 0.2


def lock_path(runtime: Runtime, collection_id: int) -> Path:
    return runtime.settings.locks_dir / f"collection-{collection_id}.lock"


@contextmanager
def collection_write_lock(
    runtime: Runtime, collection_id: int, cancel: threading.Event | None = None
) -> Iterator[None]:
    """The collection's lock file, held while writing; waiting for it (another process's ingest) stops when
    `cancel` is set. The kernel drops the lock with its process, so a killed run never holds it."""
    runtime.settings.locks_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_path(runtime, collection_id), "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if cancel is not None and cancel.wait(LOCK_POLL_SECONDS):
                    raise IngestCancelledError() from None
                if cancel is None:
                    time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def start_run(runtime: Runtime, collection: Collection, source: str, *, sync: bool = False, queue: str = "cli") -> int:
    """A queued run row. Held by this process until it runs, but for a broker's queue, which holds it then."""
    with runtime.sessions() as session:
        run = IngestRun(
            collection_id=collection.id,
            source=source,
            status="queued",
            failures=[],
            sync=sync,
            queue=queue,
            owner=None if queue == "celery" else run_owner(),
        )
        session.add(run)
        session.commit()
        return run.id


class CollectionBusyError(Exception):
    """Another live run writes the collection (on another machine): the job is to be tried again later."""


class NotClaimedError(Exception):
    """The run needs no running here: finished, cancelled, running elsewhere, or given up (`claim`)."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(claim.value)
        self.claim = claim


def ingest_folder(
    runtime: Runtime,
    collection_name: str,
    root: Path,
    *,
    sync: bool = False,
    embedder: str | None = None,
    run_id: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_start: Callable[[], None] | None = None,
    wait: bool = True,
    load_indexes: bool = True,
) -> IngestSummary:
    """Bring the collection in step with the files under `root`; with `sync`, drop documents whose files are gone.

    The run is `queued` until it is claimed (leases.py): this machine's lock file of the collection, then its
    row's lease, while another run writes the collection; `on_start` is called once it is `running`. With
    `wait` false, a collection busy elsewhere raises CollectionBusyError instead of waiting (a worker tries
    the job again later); a run that needs no running raises NotClaimedError. Without `load_indexes` (a
    worker) only the database is written: the processes that search follow its change log."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    collection = get_or_create_collection(runtime, collection_name, embedder)
    if run_id is None:
        run_id = start_run(runtime, collection, str(root), sync=sync)
    summary = IngestSummary(collection=collection.name, run_id=run_id)
    cancel = cancel or threading.Event()
    try:
        with collection_write_lock(runtime, collection.id, cancel):
            _claim(runtime, run_id, cancel, wait)
            with Heartbeat(runtime, run_id, cancel):
                _run_claimed(runtime, collection, root, summary, sync, progress, cancel, on_start, load_indexes)
    except IngestCancelledError:  # while waiting for the lock: nothing was done
        summary.status = "cancelled"
        _finish_run(runtime, summary)
    if progress:
        progress(summary, "")
    return summary


def _claim(runtime: Runtime, run_id: int, cancel: threading.Event, wait: bool) -> None:
    while True:
        claim = claim_run(runtime, run_id)
        if claim is Claim.CLAIMED:
            return
        if claim is not Claim.BUSY:
            raise NotClaimedError(claim)
        if not wait:
            raise CollectionBusyError(f"run {run_id}: another run is writing its collection")
        if cancel.wait(LOCK_POLL_SECONDS):
            raise IngestCancelledError()


def _run_claimed(
    runtime: Runtime,
    collection: Collection,
    root: Path,
    summary: IngestSummary,
    sync: bool,
    progress: ProgressCallback | None,
    cancel: threading.Event,
    on_start: Callable[[], None] | None,
    load_indexes: bool,
) -> None:
    if on_start:
        on_start()
    indexes = runtime.indexes.get(collection) if load_indexes else runtime.indexes.peek(collection.id)
    embedder = (
        indexes.embedder if indexes else runtime.embedders.for_collection(collection.embedder, collection.vector_space)
    )
    with runtime.sessions() as session:
        # A run taken over from a process that died is read carefully: each file is named on the row before it
        # is read, so that if it takes the process down again the reason says which one.
        careful = (session.scalar(select(IngestRun.attempts).where(IngestRun.id == summary.run_id)) or 0) > 1
    started = time.monotonic()  # the run's own time, not the wait for the lock
    try:
        _Ingest(runtime, collection, indexes, embedder, root, summary, progress, cancel, careful).run(sync)
        summary.status = "done"
    except IngestCancelledError:
        summary.status = "cancelled"
    except BaseException as exc:  # KeyboardInterrupt too: the run row must not stay "running"
        summary.status = "failed"
        _finish_run(runtime, summary, error=f"{type(exc).__name__}: {exc}")
        if indexes:
            runtime.indexes.save(indexes)
        raise
    finally:
        summary.seconds = time.monotonic() - started
    if indexes:
        if progress:  # a large index takes seconds to write: the job says so rather than looking stuck
            progress(summary, SAVING_INDEX)
        runtime.indexes.save(indexes)
    _finish_run(runtime, summary)


def close_dead_runs(runtime: Runtime, collection_id: int | None = None) -> int:
    """Mark `interrupted` the CLI and in-process runs that say queued or running but whose process is gone (a
    killed CLI, a server that stopped): a running run by its lease, a queued one when its process is known dead.
    Runs of Celery workers are left to the workers, which take a dead one over (jobqueue/celery_queue.py).
    Returns how many were closed."""
    closed = 0
    me = run_owner()
    with runtime.sessions() as session:
        query = select(IngestRun).where(IngestRun.status.in_(("queued", "running")), IngestRun.queue != "celery")
        if collection_id is not None:
            query = query.where(IngestRun.collection_id == collection_id)
        for run in session.scalars(query):
            if run.owner == me:
                # this process's own runs are live, unless they are an earlier process's that had its host and
                # pid (a restarted container)
                dead = from_earlier_process(run)
            elif run.status == "running":
                dead = lease_dead(run, runtime.settings.job_lease_seconds)
            else:
                dead = owner_alive(run.owner) is False
            if dead:
                run.status, run.finished_at = "interrupted", utcnow()
                run.error = run.error or (
                    "interrupted again: its process stopped after the job was resumed; the collection's next "
                    "upload ingests the stored files left"
                    if run.resumes
                    else "interrupted: its process stopped before the run finished"
                )
                closed += 1
        session.commit()
    return closed


def _set_run(runtime: Runtime, run_id: int, *, only_if_mine: bool = False, **values: object) -> None:
    """Write the run row; with `only_if_mine`, not when another process holds its lease now (this one stalled
    past it and the new owner finishes the row)."""
    with runtime.sessions() as session:
        run = session.get(IngestRun, run_id)
        if run is None or (only_if_mine and run.owner not in (None, run_owner())):
            return
        for key, value in values.items():
            setattr(run, key, value)
        session.commit()


def _finish_run(runtime: Runtime, summary: IngestSummary, error: str | None = None) -> None:
    _set_run(
        runtime,
        summary.run_id,
        only_if_mine=True,
        current="",
        status=summary.status,
        files_total=summary.files_total,
        files_done=summary.files_done,
        added=summary.added,
        updated=summary.updated,
        unchanged=summary.unchanged,
        deleted=summary.deleted,
        skipped=len(summary.skipped),
        chunks_embedded=summary.chunks_embedded,
        failures=summary.failed,
        error=error,
        finished_at=utcnow(),
    )


def load_options(settings: Settings, progress: Callable[[str], None] | None = None) -> LoadOptions:
    """The loaders' limits and switches, from the settings."""
    return LoadOptions(
        ocr=settings.ocr,
        ocr_pdf_images=settings.ocr_pdf_images,
        max_image_pixels=int(settings.max_image_megapixels * 1_000_000),
        max_sheet_rows=settings.max_sheet_rows,
        max_unpacked_bytes=int(settings.max_unpacked_mb * 1024 * 1024),
        max_unpacked_ratio=settings.max_archive_ratio,
        converter=settings.libreoffice,
        seconds=settings.max_file_seconds,
        progress=progress,
    )


class _Ingest:
    def __init__(
        self,
        runtime: Runtime,
        collection: Collection,
        indexes: CollectionIndexes | None,
        embedder: Embedder,
        root: Path,
        summary: IngestSummary,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        careful: bool = False,
    ) -> None:
        self.runtime = runtime
        self.careful = careful
        self.settings = runtime.settings
        self.collection = collection
        self.indexes = indexes  # None in a worker: only the database is written
        self.embedder = embedder
        self.root = root.resolve()
        self.summary = summary
        self.progress = progress
        self.cancel = cancel
        self.last_checkpoint = time.monotonic()
        self.last_progress_save = 0.0
        self.current = ""  # what the progress shows now
        self.reading = ""  # the preparing thread's long step ("scan.pdf: OCR page 3 of 40"), shown as progress

    def run(self, sync: bool) -> None:
        walked = walk_folder(self.root, self.settings.max_file_bytes)
        self.summary.skipped = [{"path": p, "reason": r} for p, r in walked.skipped]
        self.summary.files_total = len(walked.files)
        with self.runtime.sessions() as session:
            existing = {
                row.path: _Known(row.id, row.sha256, row.size, row.mtime, row.status)
                for row in session.execute(
                    select(
                        Document.id,
                        Document.path,
                        Document.sha256,
                        Document.size,
                        Document.mtime,
                        Document.status,
                    ).where(Document.collection_id == self.collection.id)
                )
            }
        self._report("")
        group: list[_Loaded] = []
        group_chunks = 0
        for outcome in self._prepared(walked.files, existing):
            self._check_cancel()
            if isinstance(outcome, _Unchanged):
                if outcome.touch:
                    self._touch(*outcome.touch)
                self._unchanged(outcome.path)
            elif isinstance(outcome, _Failed):
                self._record_failure(outcome)
            else:
                group.append(outcome)
                group_chunks += len(outcome.chunks)
                self._report(outcome.path)  # files read and split show before the group's embedding starts
                if group_chunks >= self.settings.embed_group_chunks:
                    self._embed_and_write(group)
                    group, group_chunks = [], 0
        self._embed_and_write(group)
        if sync:
            present = set(walked.files)
            gone = [row for path, row in existing.items() if path not in present]
            self._delete_documents([row.id for row in gone])
            self.summary.deleted = len(gone)

    def _prepared(self, paths: list[str], existing: dict[str, _Known]) -> Iterator[_Loaded | _Unchanged | _Failed]:
        """Files read, hashed and split in a thread ahead of the caller, so parsing overlaps embedding (torch
        releases the GIL while it computes); the caller alone touches the database and the summary, but for the
        two counts the preparing thread keeps (files_read, chunks_split)."""
        outcomes: queue.Queue[_Loaded | _Unchanged | _Failed | None] = queue.Queue(maxsize=PREPARE_AHEAD)
        stop = threading.Event()

        def put(item: _Loaded | _Unchanged | _Failed | None) -> bool:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    outcomes.put(item, timeout=WAIT_SECONDS)
                    return True
            return False

        def produce() -> None:
            try:
                for rel in paths:
                    if stop.is_set():
                        return
                    item = self._prepare(rel, existing.get(rel))
                    self.summary.files_read += 1
                    self.summary.chunks_split += len(item.chunks) if isinstance(item, _Loaded) else 0
                    if not put(item):
                        return
            finally:
                put(None)

        producer = threading.Thread(target=produce, name="ingest-prepare", daemon=True)
        producer.start()
        try:
            while True:
                try:
                    outcome = outcomes.get(timeout=WAIT_SECONDS)
                except queue.Empty:
                    self._check_cancel()  # a file that takes long to read does not delay a cancel
                    if self.reading:
                        self._report(self.reading)
                    continue
                if outcome is None:
                    return
                yield outcome
        finally:
            # The producer stops at its next file or put; a loader busy with one file is not waited for.
            stop.set()

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise IngestCancelledError()

    def _report(self, current: str) -> None:
        self.current = current
        if self.progress:
            self.progress(self.summary, current)
        now = time.monotonic()
        if self.indexes and now - self.last_checkpoint >= self.settings.index_checkpoint_seconds:
            self.runtime.indexes.save(self.indexes)
            self.last_checkpoint = now
        if now - self.last_progress_save >= PROGRESS_SAVE_SECONDS:
            with self.runtime.sessions() as session:
                self._save_progress(session)
                session.commit()

    def _save_progress(self, session: Session, **overrides: int) -> None:
        """The run row's counts, in the caller's transaction: a file's commit carries its own count, so after a
        crash or a restart the row says exactly which files are in; the rest (unchanged files, what is being
        read) is saved each second, for the replicas that show it. A cancel asked for on any replica is seen
        here."""
        run = session.get(IngestRun, self.summary.run_id)
        if run is None:
            return
        summary = self.summary
        run.files_total, run.files_done = summary.files_total, summary.files_done
        run.added, run.updated, run.unchanged = summary.added, summary.updated, summary.unchanged
        run.chunks_embedded, run.failures = summary.chunks_embedded, list(summary.failed)
        run.files_read, run.chunks_split = max(summary.files_read, summary.files_done), summary.chunks_split
        run.current, run.skipped_files = self.current[:1000], list(summary.skipped)
        run.progress_version += 1
        for key, value in overrides.items():
            setattr(run, key, value)
        if run.cancel_requested and self.cancel is not None:
            self.cancel.set()
        self.last_progress_save = time.monotonic()

    def _prepare(self, rel: str, previous: _Known | None) -> _Loaded | _Unchanged | _Failed:
        """Read, hash, load and split one file; no side effects, so it can run in the preparing thread."""
        path = self.root / rel
        try:
            stat = path.stat()
            if (
                previous is not None
                and previous.status == "ok"
                and previous.size == stat.st_size
                and previous.mtime == stat.st_mtime
            ):
                return _Unchanged(rel, None)
            data = path.read_bytes()
        except OSError as exc:
            return _Failed(rel, previous, f"cannot read: {exc.strerror or exc}")
        sha = sha256_bytes(data)
        if previous is not None and previous.status == "ok" and previous.sha256 == sha:
            return _Unchanged(rel, (previous.id, stat.st_size, stat.st_mtime))
        loader = loader_for(rel)
        assert loader is not None  # the walk keeps only files with a loader
        if self.careful:
            _set_run(self.runtime, self.summary.run_id, current=rel)
        started = time.monotonic()
        limits = self.settings

        def failed(reason: str) -> _Failed:
            return _Failed(rel, previous, reason, sha, stat.st_size, stat.st_mtime, loader.type)

        try:
            sections = loader.load(data, rel, self._load_options(rel))
            del data
            chars = sum(len(section.text) for section in sections)
            if chars > limits.max_file_chars:
                return failed(
                    f"{chars} characters of text, over the limit of {limits.max_file_chars} (RAG_MAX_FILE_CHARS)"
                )
            chunks = split_sections(
                sections,
                self.embedder.count_tokens,
                self.settings.chunk_size_tokens,
                self.settings.chunk_overlap_tokens,
                self.embedder.max_tokens,
                loader.language,
            )
        except LoadError as exc:
            return failed(str(exc))
        except Exception as exc:  # a loader bug on one odd file must not stop the run
            log.exception("loading %s failed", rel)
            return failed(f"{type(exc).__name__}: {exc}")
        finally:
            self.reading = ""
        if len(chunks) > limits.max_file_chunks:
            return failed(f"{len(chunks)} chunks, over the limit of {limits.max_file_chunks} (RAG_MAX_FILE_CHUNKS)")
        seconds = time.monotonic() - started
        if seconds > limits.max_file_seconds:
            return failed(
                f"took {seconds:.0f} s to read and split, over the limit of {limits.max_file_seconds:g} s "
                "(RAG_MAX_FILE_SECONDS)"
            )
        return _Loaded(
            path=rel,
            sha256=sha,
            size=stat.st_size,
            mtime=stat.st_mtime,
            type=loader.type,
            chunks=chunks,
            document_id=previous.id if previous is not None else None,
            hashes=[sha256_text(chunk.embedding_text) for chunk in chunks],
        )

    def _load_options(self, rel: str) -> LoadOptions:
        def progress(step: str) -> None:
            self.reading = f"{rel}: {step}"

        return load_options(self.settings, progress)

    def _unchanged(self, rel: str) -> None:
        self.summary.unchanged += 1
        self.summary.files_done += 1
        self._report(rel)

    def _touch(self, document_id: int, size: int, mtime: float) -> None:
        with self.runtime.sessions() as session:
            document = session.get(Document, document_id)
            if document is not None:
                document.size, document.mtime = size, mtime
                session.commit()

    def _embed_and_write(self, group: list[_Loaded]) -> None:
        if not group:
            return
        all_hashes = [h for loaded in group for h in loaded.hashes]
        with self.runtime.sessions() as session:
            vectors = load_cached_vectors(session, self.embedder.model_id, all_hashes)
        texts_by_hash: dict[str, str] = {}
        for loaded in group:
            for sha, chunk in zip(loaded.hashes, loaded.chunks, strict=True):
                if sha not in vectors:
                    texts_by_hash.setdefault(sha, chunk.embedding_text)
        fresh: dict[str, np.ndarray] = {}
        pending = list(texts_by_hash.items())
        # The embedder works in batches of embed_batch_size anyway: slices of a few batches cost no speed.
        step = max(1, self.settings.embed_batch_size * EMBED_SLICE_BATCHES)
        for start in range(0, len(pending), step):
            # Bounded calls with a cancel check between them, whatever one file's size.
            self._check_cancel()
            batch = pending[start : start + step]
            embedded = self.embedder.embed_documents([text for _, text in batch])
            fresh.update(zip((sha for sha, _ in batch), embedded, strict=True))
            self.summary.chunks_embedded += len(batch)
            self._report(group[0].path if len(group) == 1 else "")
        vectors.update(fresh)
        for loaded in group:
            self._check_cancel()
            self._write_document(loaded, vectors, fresh)

    def _write_document(self, loaded: _Loaded, vectors: dict[str, np.ndarray], fresh: dict[str, np.ndarray]) -> None:
        """One transaction: the document row, its new chunks, their vectors in the cache; then the indexes."""
        with self.runtime.sessions() as session:
            document = session.get(Document, loaded.document_id) if loaded.document_id else None
            old_ids: list[int] = []
            if document is None:
                document = Document(collection_id=self.collection.id, path=loaded.path)
                session.add(document)
                self.summary.added += 1
            else:
                old_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == document.id)))
                session.execute(delete(Chunk).where(Chunk.document_id == document.id))
                self.summary.updated += 1
            document.sha256, document.size, document.mtime = loaded.sha256, loaded.size, loaded.mtime
            document.type, document.status, document.error = loaded.type, "ok", None
            document.chunk_count = len(loaded.chunks)
            session.flush()
            rows = [
                Chunk(
                    document_id=document.id,
                    collection_id=self.collection.id,
                    ordinal=chunk.ordinal,
                    text=chunk.text,
                    page=chunk.page,
                    start_line=chunk.start_line,
                    end_line=chunk.end_line,
                    heading_path=chunk.heading_path,
                    sha256=sha,
                )
                for chunk, sha in zip(loaded.chunks, loaded.hashes, strict=True)
            ]
            session.add_all(rows)
            store_cached_vectors(
                session,
                self.embedder.model_id,
                {h: fresh[h] for h in loaded.hashes if h in fresh},
                self.embedder.engine,
            )
            self._save_progress(session, files_done=self.summary.files_done + 1)
            seq = record_changes(session, self.collection.id, added=[row.id for row in rows], removed=old_ids)
            session.commit()
        if self.indexes:
            added = [
                (row.id, vectors[sha], sha, chunk.embedding_text)
                for row, chunk, sha in zip(rows, loaded.chunks, loaded.hashes, strict=True)
            ]
            self.runtime.indexes.apply_own(self.indexes, seq, old_ids, added)
        self.summary.chunks_written += len(rows)
        self.summary.files_done += 1
        self._report(loaded.path)

    def _record_failure(self, failure: _Failed) -> None:
        """Mark the document failed with its reason; chunks of an older version are dropped, never served stale."""
        rel, previous = failure.path, failure.previous
        self.summary.failed.append({"path": rel, "reason": failure.reason})
        with self.runtime.sessions() as session:
            document = session.get(Document, previous.id) if previous is not None else None
            old_ids: list[int] = []
            if document is None:
                document = Document(collection_id=self.collection.id, path=rel)
                session.add(document)
            else:
                old_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == document.id)))
                session.execute(delete(Chunk).where(Chunk.document_id == document.id))
            document.sha256, document.size, document.mtime = failure.sha256, failure.size, failure.mtime
            document.type, document.status, document.error = failure.type, "failed", failure.reason
            document.chunk_count = 0
            self._save_progress(session, files_done=self.summary.files_done + 1)
            seq = record_changes(session, self.collection.id, removed=old_ids)
            session.commit()
        if self.indexes:
            self.runtime.indexes.apply_own(self.indexes, seq, old_ids, [])
        self.summary.files_done += 1
        self._report(rel)

    def _delete_documents(self, document_ids: list[int]) -> None:
        delete_documents(self.runtime, self.collection.id, self.indexes, document_ids)


def delete_documents(
    runtime: Runtime, collection_id: int, indexes: CollectionIndexes | None, document_ids: list[int]
) -> int:
    """Remove documents with their chunks from the database (and the change log tells every replica), and from
    this process's indexes when it has them loaded."""
    if not document_ids:
        return 0
    with runtime.sessions() as session:
        chunk_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id.in_(document_ids))))
        session.execute(delete(Chunk).where(Chunk.document_id.in_(document_ids)))
        deleted = session.execute(delete(Document).where(Document.id.in_(document_ids))).rowcount
        seq = record_changes(session, collection_id, removed=chunk_ids)
        session.commit()
    if indexes:
        runtime.indexes.apply_own(indexes, seq, chunk_ids, [])
    return int(deleted or 0)
