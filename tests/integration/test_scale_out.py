"""Several machines, for real: PostgreSQL, Redis, `rag-service worker` processes (Celery, never eager mode) and
two `rag-service serve` processes on their own ports and data dirs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rag_service.db.models import Chunk, Collection, Document, IngestRun, utcnow
from rag_service.errors import QueueUnavailableError
from rag_service.indexing import ingest_folder
from rag_service.jobqueue.celery_queue import QUEUE, TASK, make_app, reap_stale
from rag_service.jobs import JobManager
from rag_service.runtime import Runtime
from rag_service.stores.changelog import changes_after, prune_changes, record_changes
from tests.conftest import make_settings
from tests.integration.processes import (
    cluster_env,
    collection_with_document,
    processes,
    start_api,
    start_worker,
    wait_for,
)
from tests.integration.server import folder_files

pytestmark = pytest.mark.slow


def note(i: int, paragraphs: int = 6) -> bytes:
    body = "\n\n".join(
        f"Paragraph {p} of note {i}: the harbour crane {i} lifts containers for berth {p} while the tide gauge "
        f"reports level {i * p % 13}; the dock master logs each lift in the ledger of shift {p % 3}."
        for p in range(paragraphs)
    )
    return f"# Note {i}\n\n{body}\n".encode()


def write_notes(folder: Path, count: int, paragraphs: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:03d}.md").write_bytes(note(i, paragraphs))
    return folder


def search_paths(client: httpx.Client, query: str, top_k: int = 10) -> list[str]:
    response = client.post("/api/search", json={"query": query, "collection": "team", "top_k": top_k})
    assert response.status_code == 200, response.text
    return [hit["path"] for hit in response.json()["hits"]]


def job(client: httpx.Client, job_id: int) -> dict:
    return client.get(f"/api/jobs/{job_id}").json()


def test_upload_on_one_replica_is_ingested_by_a_worker_and_served_by_the_other(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    unique = b"# Lighthouse\n\nThe lighthouse keeper winds the quartz clock at dusk every Tuesday.\n"
    docs = write_notes(tmp_path / "docs", 60)
    (docs / "lighthouse.md").write_bytes(unique)
    with processes() as started:
        a = start_api(tmp_path, "api-a", cluster_env(tmp_path, "a", postgres_url, redis_url))
        started.append(a)
        b = start_api(tmp_path, "api-b", cluster_env(tmp_path, "b", postgres_url, redis_url))
        started.append(b)
        with httpx.Client(base_url=a.base, timeout=60) as api_a, httpx.Client(base_url=b.base, timeout=60) as api_b:
            assert api_a.post("/api/collections", json={"name": "team"}).status_code == 201
            assert search_paths(api_b, "lighthouse keeper quartz clock") == []  # B has loaded the empty index

            uploaded = api_a.post("/api/collections/team/files", files=folder_files(docs))
            assert uploaded.status_code == 202, uploaded.text
            job_id = uploaded.json()["job_id"]
            time.sleep(3)  # no worker yet: the job waits; it never runs inside an API process
            assert job(api_a, job_id)["status"] == "queued" and job(api_b, job_id)["status"] == "queued"

            started.append(start_worker(tmp_path, "worker-1", cluster_env(tmp_path, "w1", postgres_url, redis_url)))
            seen = []  # progress as replica B shows it, while the worker runs the job

            def finished() -> bool:
                state = job(api_b, job_id)
                seen.append((state["status"], state["files_done"], state["files_total"]))
                return state["status"] in ("done", "failed", "cancelled", "interrupted")

            wait_for(finished, 240, "the job to finish", interval=0.2)
            final = job(api_b, job_id)
            assert final["status"] == "done", final
            assert final["summary"]["added"] == 61 and final["files_done"] == 61
            assert any(status == "running" and total == 61 for status, _, total in seen)

            # Searchable on B (whose index was loaded before the job) and on A, with no restart.
            assert search_paths(api_b, "lighthouse keeper quartz clock")[0] == "lighthouse.md"
            assert search_paths(api_a, "lighthouse keeper quartz clock")[0] == "lighthouse.md"
            with api_b.stream("GET", f"/api/jobs/{job_id}/events") as events:  # SSE from the other replica
                lines = [line for line in events.iter_lines() if line.startswith("data:")]
            assert json.loads(lines[-1][5:])["status"] == "done"

            # A delete on B is gone from A's results.
            documents = api_b.get("/api/collections/team/documents", params={"limit": 100}).json()["items"]
            lighthouse = next(d for d in documents if d["path"] == "lighthouse.md")
            assert api_b.delete(f"/api/collections/team/documents/{lighthouse['id']}").status_code == 204
            assert "lighthouse.md" not in search_paths(api_a, "lighthouse keeper quartz clock")
            ready = api_a.get("/readyz").json()
            assert ready["replication"]["changes_behind"] == 0

            # A long job on the worker survives a restart of replica A, and B cancels it.
            big = write_notes(tmp_path / "big", 150, paragraphs=30)
            long_job = api_a.post("/api/collections/team/files", files=folder_files(big)).json()["job_id"]
            wait_for(lambda: job(api_b, long_job)["status"] == "running", 120, "the long job to start")
            a.stop()
            started.remove(a)
            a = start_api(tmp_path, "api-a2", cluster_env(tmp_path, "a", postgres_url, redis_url))
            started.append(a)
            with httpx.Client(base_url=a.base, timeout=60) as api_a2:
                assert job(api_a2, long_job)["status"] == "running"  # not marked failed or interrupted
                assert search_paths(api_a2, "harbour crane 7 berth")  # a fresh replica serves what is committed
            cancelled = api_b.delete(f"/api/jobs/{long_job}")
            assert cancelled.status_code == 200
            wait_for(lambda: job(api_b, long_job)["status"] == "cancelled", 30, "the cancel to reach the worker")
            with httpx.Client(base_url=a.base, timeout=60) as api_a2:
                done_files = job(api_a2, long_job)["files_done"]
                assert done_files < 150


def _run_row(runtime: Runtime, run_id: int) -> IngestRun:
    with runtime.sessions() as session:
        run = session.get(IngestRun, run_id)
        assert run is not None
        return run


def _chunks_are_exact(runtime: Runtime) -> tuple[int, int]:
    """(documents, chunks) after checking every document has exactly its own chunks once."""
    with runtime.sessions() as session:
        documents = session.scalars(select(Document)).all()
        chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
        for document in documents:
            ordinals = session.scalars(select(Chunk.ordinal).where(Chunk.document_id == document.id)).all()
            assert sorted(ordinals) == list(range(document.chunk_count)), document.path
        return len(documents), chunks


def test_worker_killed_mid_ingest_and_duplicate_delivery(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    docs = write_notes(tmp_path / "docs", 150, paragraphs=20)
    settings = make_settings(
        tmp_path, postgres_url, broker_url=redis_url, job_lease_seconds=6.0, job_heartbeat_seconds=1.0
    )
    runtime = Runtime(settings)
    manager = JobManager(runtime)  # the API's side of the queue, in this process: it only sends job ids
    with runtime.sessions() as session:
        session.add(Collection(name="team", embedder="minilm", vector_space="all-MiniLM-L6-v2"))
        session.commit()
    with processes() as started:
        started.append(start_worker(tmp_path, "worker-1", cluster_env(tmp_path, "w1", postgres_url, redis_url)))
        run_id = manager.submit("team", docs, sync=False).id
        wait_for(lambda: _run_row(runtime, run_id).files_done >= 10, 240, "ten files in")
        owner = _run_row(runtime, run_id).owner
        assert owner
        os.kill(int(owner.rpartition(":")[2]), signal.SIGKILL)  # the worker process running the job
        wait_for(lambda: _run_row(runtime, run_id).status in ("done", "failed"), 300, "the job to be finished")
        run = _run_row(runtime, run_id)
        assert run.status == "done" and run.attempts == 2 and run.owner != owner, (run.status, run.error)
        assert _chunks_are_exact(runtime)[0] == 150
        documents, chunks = _chunks_are_exact(runtime)

        # The same job delivered twice, to two workers: one runs it, the other finds it taken.
        started.append(start_worker(tmp_path, "worker-2", cluster_env(tmp_path, "w2", postgres_url, redis_url)))
        (docs / "extra.md").write_bytes(note(999))
        second = manager.submit("team", docs, sync=False).id
        make_app(settings).send_task(TASK, args=[second], queue=QUEUE)
        wait_for(lambda: _run_row(runtime, second).status == "done", 240, "the second job")
        run = _run_row(runtime, second)
        assert run.attempts == 1 and run.added == 1 and run.unchanged == 150
        assert _chunks_are_exact(runtime) == (documents + 1, chunks + len_chunks_of_one(runtime, "extra.md"))

        # A synced folder that the workers cannot see fails with the sentence that says so.
        unmounted = manager.submit("team", tmp_path / "only-on-the-api-machine", sync=True).id
        wait_for(lambda: _run_row(runtime, unmounted).status == "failed", 60, "the unreadable sync to fail")
        error = _run_row(runtime, unmounted).error or ""
        assert "only-on-the-api-machine is not a folder readable on" in error and "every worker must" in error


def len_chunks_of_one(runtime: Runtime, path: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(Document.chunk_count).where(Document.path == path)) or 0


POISON = """
import os
import shutil
import signal

from ingest import loaders


def _crash(data, name, options):
    os.kill(os.getpid(), signal.SIGKILL)  # what a loader bug that takes the process down looks like


loaders.LOADERS[".crash"] = loaders.LoaderSpec("crash", _crash, is_text=False)
"""


GATE = """
import time
from pathlib import Path

from ingest import loaders


def _gated(data, name, options):
    while not Path({gate!r}).exists():  # the test opens it
        time.sleep(0.1)
    return loaders.LOADERS[".md"].load(data, name, options)


loaders.LOADERS[".gate"] = loaders.LoaderSpec("markdown", _gated)
"""


def test_a_poisoned_file_fails_its_job_after_n_attempts_and_the_queue_drains(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(POISON)  # loaded by every Python the worker starts
    settings = make_settings(tmp_path, postgres_url, broker_url=redis_url, job_max_attempts=3)
    runtime = Runtime(settings)
    manager = JobManager(runtime)
    with runtime.sessions() as session:
        session.add(Collection(name="team", embedder="minilm", vector_space="all-MiniLM-L6-v2"))
        session.commit()
    poisoned = tmp_path / "poisoned"
    poisoned.mkdir()
    (poisoned / "a.md").write_bytes(note(1))
    (poisoned / "boom.crash").write_bytes(b"anything")
    healthy = write_notes(tmp_path / "healthy", 3)
    env = cluster_env(tmp_path, "w1", postgres_url, redis_url, PYTHONPATH=str(plugin), RAG_JOB_MAX_ATTEMPTS="3")
    with processes() as started:
        started.append(start_worker(tmp_path, "worker-1", env))
        bad = manager.submit("team", poisoned, sync=False).id
        good = manager.submit("team", healthy, sync=False).id
        wait_for(lambda: _run_row(runtime, bad).status == "failed", 300, "the poisoned job to give up")
        run = _run_row(runtime, bad)
        assert run.attempts == 3 and "gave up after 3 attempts" in (run.error or "") and "boom.crash" in run.error
        wait_for(lambda: _run_row(runtime, good).status == "done", 240, "the next job")
        assert _run_row(runtime, good).added == 3


def test_two_writers_committing_out_of_order_skip_no_change(tmp_path: Path, postgres_url: str) -> None:
    """Writer A takes change 1 and commits late; writer B, which started its change after, must wait for A's
    commit and get change 2: a replica reading between the commits never sees 2 without 1."""
    runtime = Runtime(make_settings(tmp_path, postgres_url))
    collection_id, document_id = collection_with_document(runtime, "team", "a.md")

    def chunk(session: Session, ordinal: int) -> int:
        row = Chunk(
            document_id=document_id, collection_id=collection_id, ordinal=ordinal, text=f"t{ordinal}", sha256="0" * 64
        )
        session.add(row)
        session.flush()
        return row.id

    writer_a = runtime.sessions()
    first = chunk(writer_a, 0)
    assert record_changes(writer_a, collection_id, added=[first]) == 1
    b_done = threading.Event()
    result: dict[str, int] = {}

    def writer_b() -> None:
        with runtime.sessions() as session:
            second = chunk(session, 1)
            result["seq"] = record_changes(session, collection_id, added=[second]) or 0
            session.commit()
            result["chunk"] = second
        b_done.set()

    thread = threading.Thread(target=writer_b)
    thread.start()
    assert not b_done.wait(1.5)  # B waits on A's lock of the collection row
    with runtime.sessions() as reader:
        assert changes_after(reader, collection_id, 0) is None  # nothing committed, nothing seen
    writer_a.commit()
    writer_a.close()
    thread.join(timeout=10)
    assert result["seq"] == 2
    with runtime.sessions() as reader:
        changes = changes_after(reader, collection_id, 0)
        assert changes is not None and changes.last_seq == 2 and changes.touched == sorted([first, result["chunk"]])
        assert changes_after(reader, collection_id, 1).touched == [result["chunk"]]  # type: ignore[union-attr]


def test_a_new_replica_from_a_snapshot_plus_the_log_equals_a_rebuild(tmp_path: Path, postgres_url: str) -> None:
    docs = write_notes(tmp_path / "docs", 20)
    writer = Runtime(make_settings(tmp_path / "writer", postgres_url))
    ingest_folder(writer, "team", docs)  # saves its snapshot at the end
    with writer.sessions() as session:
        snapshot_seq = session.scalar(select(Collection.change_seq))
    shutil.copytree(writer.settings.faiss_dir, tmp_path / "replica" / "data" / "faiss")
    # Changes after the snapshot, written by a worker that keeps no index and saves none.
    (docs / "note-003.md").write_bytes(note(3, paragraphs=12))
    (docs / "note-004.md").unlink()
    (docs / "new.md").write_bytes(note(500))
    worker = Runtime(make_settings(tmp_path / "worker", postgres_url))
    ingest_folder(worker, "team", docs, sync=True, load_indexes=False)
    assert not worker.settings.faiss_dir.exists()

    replica = Runtime(make_settings(tmp_path / "replica", postgres_url))
    rebuilt = Runtime(make_settings(tmp_path / "rebuilt", postgres_url))  # no file: built from the database
    with replica.sessions() as session:
        collection = session.scalar(select(Collection))
        assert collection is not None and collection.change_seq > snapshot_seq
    from_snapshot = replica.indexes.get(collection)
    assert from_snapshot.vectors.saved_seq == snapshot_seq  # started from the file, then applied the log
    from_rows = rebuilt.indexes.get(collection)
    assert from_snapshot.seq == from_rows.seq == collection.change_seq
    ids = np.sort(from_snapshot.vectors.ids())
    assert np.array_equal(ids, np.sort(from_rows.vectors.ids()))
    with replica.sessions() as session:
        assert ids.tolist() == sorted(session.scalars(select(Chunk.id)).all())
    assert np.allclose(from_snapshot.vectors.vectors_for(ids), from_rows.vectors.vectors_for(ids))
    query = from_rows.embedder.embed_query("harbour crane lifts containers at berth 3")
    assert from_snapshot.vectors.search(query, 10) == from_rows.vectors.search(query, 10)


RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def test_rabbitmq_is_the_alternative_broker(tmp_path: Path, postgres_url: str) -> None:
    settings = make_settings(tmp_path, postgres_url, broker_url=RABBITMQ)
    runtime = Runtime(settings)
    make_app(settings).control.purge()  # what earlier runs may have left on the shared queue
    manager = JobManager(runtime)
    with runtime.sessions() as session:
        session.add(Collection(name="team", embedder="minilm", vector_space="all-MiniLM-L6-v2"))
        session.commit()
    with processes() as started:
        started.append(start_worker(tmp_path, "worker-1", cluster_env(tmp_path, "w1", postgres_url, RABBITMQ)))
        run_id = manager.submit("team", write_notes(tmp_path / "docs", 5), sync=False).id
        wait_for(lambda: _run_row(runtime, run_id).status == "done", 240, "the job on RabbitMQ")
        assert _run_row(runtime, run_id).added == 5


def test_an_unreachable_broker_is_a_clear_error_and_the_job_row_says_so(tmp_path: Path, postgres_url: str) -> None:
    runtime = Runtime(make_settings(tmp_path, postgres_url, broker_url="redis://127.0.0.1:9/0"))
    manager = JobManager(runtime)
    with runtime.sessions() as session:
        session.add(Collection(name="team", embedder="minilm", vector_space="all-MiniLM-L6-v2"))
        session.commit()
    with pytest.raises(QueueUnavailableError, match="job queue at RAG_BROKER_URL is unreachable"):
        manager.submit("team", write_notes(tmp_path / "docs", 1), sync=False)
    with runtime.sessions() as session:
        run = session.scalar(select(IngestRun))
        assert run is not None and run.status == "failed" and "unreachable" in (run.error or "")


def test_the_reaper_sends_again_the_jobs_no_worker_holds(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    settings = make_settings(
        tmp_path, postgres_url, broker_url=redis_url, job_lease_seconds=1.0, job_resend_queued_seconds=1.0
    )
    runtime = Runtime(settings)
    manager = JobManager(runtime)
    with runtime.sessions() as session:
        collection = Collection(name="team", embedder="minilm", vector_space="all-MiniLM-L6-v2")
        session.add(collection)
        session.flush()
        # A job whose worker's machine went away mid-run: its lease is long stale.
        session.add(
            IngestRun(
                collection_id=collection.id,
                source=str(tmp_path),
                status="running",
                queue="celery",
                owner="gone-host:4242",
                heartbeat_at=utcnow() - timedelta(seconds=30),
            )
        )
        session.commit()
    manager.submit("team", write_notes(tmp_path / "docs", 1), sync=False)  # its message, then lost below
    broker = redis.Redis.from_url(redis_url)
    assert broker.llen(QUEUE) == 1
    broker.delete(QUEUE)  # a broker restarted without persistence
    time.sleep(1.2)
    app = make_app(settings)
    assert reap_stale(runtime, app) == 2  # the stale running job and the queued one nobody claimed
    assert broker.llen(QUEUE) == 2
    assert reap_stale(runtime, app) == 0  # once per lease: the other workers' reapers send nothing more


def test_a_replica_asleep_longer_than_the_log_keeps_is_compared_with_the_rows(
    tmp_path: Path, postgres_url: str
) -> None:
    docs = write_notes(tmp_path / "docs", 6)
    writer = Runtime(make_settings(tmp_path / "writer", postgres_url))
    ingest_folder(writer, "team", docs)
    replica = Runtime(make_settings(tmp_path / "replica", postgres_url))
    with replica.sessions() as session:
        collection = session.scalar(select(Collection))
    indexes = replica.indexes.get(collection)
    held = indexes.seq
    (docs / "note-001.md").unlink()
    (docs / "late.md").write_bytes(note(77))
    ingest_folder(writer, "team", docs, sync=True, load_indexes=False)
    with writer.sessions() as session:
        assert prune_changes(session, utcnow() + timedelta(days=1)) > 0  # every change so far leaves the log
    with replica.sessions() as session:
        collection = session.scalar(select(Collection))
        assert collection is not None and collection.change_log_floor == collection.change_seq > held
        rows = sorted(session.scalars(select(Chunk.id)).all())
    indexes = replica.indexes.get(collection)  # the log cannot bring it up: the rows do
    assert sorted(indexes.vectors.ids().tolist()) == rows and indexes.seq == collection.change_seq
    replica.indexes.ensure_lexical(indexes)
    assert indexes.lexical.size == len(rows)


def test_two_replicas_without_a_broker_see_each_others_ingests(tmp_path: Path, postgres_url: str) -> None:
    """The embedded queue on PostgreSQL: replica A runs its own jobs on its threads; replica B, whose index was
    loaded before, serves them, and B's start leaves A's running job alone."""
    docs = write_notes(tmp_path / "docs", 120, paragraphs=20)
    # A's job waits at this file until B has started and loaded the collection, however fast A embeds.
    plugin, gate = tmp_path / "plugin", tmp_path / "open-the-gate"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(GATE.format(gate=str(gate)))
    (docs / "y-gate.gate").write_bytes(b"# Gate\n\nA file read once the test lets it through.\n")
    # Named to come last in the walk: it is committed after replica B has loaded the collection.
    (docs / "zz-lighthouse.md").write_bytes(b"# Lighthouse\n\nThe lighthouse keeper winds the quartz clock at dusk.\n")
    env_a = cluster_env(tmp_path, "a", postgres_url, "", PYTHONPATH=str(plugin))
    env_a.pop("RAG_BROKER_URL")
    with processes() as started:
        a = start_api(tmp_path, "api-a", env_a)
        started.append(a)
        with httpx.Client(base_url=a.base, timeout=60) as api_a:
            assert api_a.post("/api/collections", json={"name": "team"}).status_code == 201
            job_id = api_a.post("/api/collections/team/files", files=folder_files(docs)).json()["job_id"]
            wait_for(lambda: job(api_a, job_id)["status"] == "running", 60, "A's job to start")
            env_b = cluster_env(tmp_path, "b", postgres_url, "")
            env_b.pop("RAG_BROKER_URL")
            b = start_api(tmp_path, "api-b", env_b)
            started.append(b)
            with httpx.Client(base_url=b.base, timeout=60) as api_b:
                assert job(api_b, job_id)["status"] == "running"  # B's start did not mark it interrupted
                search_paths(api_b, "lighthouse keeper quartz clock")  # B has the collection loaded now
                gate.touch()
                wait_for(lambda: job(api_a, job_id)["status"] == "done", 300, "A's job to finish")
                assert search_paths(api_b, "lighthouse keeper quartz clock")[0] == "zz-lighthouse.md"
                assert search_paths(api_b, "a file read once the test lets it through")[0] == "y-gate.gate"
