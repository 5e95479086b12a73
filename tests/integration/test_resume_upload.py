"""Issue #26, point 9: an upload job interrupted because its server was killed is resumed by the next server to
start, once, and says so; with a real `rag-service serve` process killed mid-ingest, and the resume rules on a
real database."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from rag_service.db.models import Collection, IngestRun
from rag_service.jobqueue.base import JobState
from rag_service.jobqueue.resume import AFTER_SERVER_RESTART, resume_interrupted
from rag_service.leases import PROCESS_STARTED, run_owner
from rag_service.runtime import Runtime
from rag_service.settings import Settings
from rag_service.storage.folder import upload_root
from tests.conftest import make_settings
from tests.integration.processes import processes, start_api, wait_for
from tests.integration.server import folder_files, wait_job

NOTES = 60


def many_notes(root: Path, count: int) -> Path:
    """Short notes, enough of them that an upload is still being ingested when the server is killed."""
    root.mkdir(parents=True)
    for i in range(count):
        body = "\n\n".join(
            f"Paragraph {j} of note {i}: the relay station {i * 100 + j} forwards region {j % 7} traffic, and "
            f"its runbook lists step {j} for restarts after a failover drill."
            for j in range(10)
        )
        (root / f"note-{i:03d}.md").write_text(f"# Note {i}\n\n{body}\n", encoding="utf-8")
    return root


def server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_DATA_DIR=str(tmp_path / "data"),
        RAG_READER="off",
        # Small embedding calls, so the ingest is still under way when the kill comes.
        RAG_EMBED_GROUP_CHUNKS="4",
        RAG_EMBED_BATCH_SIZE="4",
        RAG_JOB_HEARTBEAT_SECONDS="1",
    )
    return env


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_a_server_killed_mid_upload_resumes_the_job_when_it_starts_again(tmp_path: Path) -> None:
    folder = many_notes(tmp_path / "notes", NOTES)
    env = server_env(tmp_path)
    db = tmp_path / "data" / "rag.db"
    with processes() as started:
        first = start_api(tmp_path, "first", env)
        started.append(first)
        with httpx.Client(base_url=first.base, timeout=120) as api:
            assert api.post("/api/collections", json={"name": "notes"}).status_code == 201
            job_id = api.post("/api/collections/notes/files", files=folder_files(folder)).json()["job_id"]
            wait_for(lambda: api.get(f"/api/jobs/{job_id}").json()["files_done"] >= 5, 240, "5 files committed")
        first.stop(signal.SIGKILL)  # and reaped: its pid is gone, as after a crash
        committed = count(db, "select count(*) from documents")
        assert 5 <= committed < NOTES, committed
        print(f"killed with {committed} of {NOTES} files committed")

        second = start_api(tmp_path, "second", env)
        started.append(second)
        with httpx.Client(base_url=second.base, timeout=120) as api:
            job = wait_job(api, job_id, timeout=300)
            assert job["status"] == "done", job
            assert job["resumes"] == 1 and job["resumed_at"], job
            assert job["note"] == AFTER_SERVER_RESTART and job["error"] is None
            assert job["summary"]["added"] == NOTES - committed and job["summary"]["unchanged"] == committed
            # The upload panel after a reload reads the collection's newest job: the same one, resumed.
            (latest,) = api.get("/api/jobs", params={"collection": "notes"}).json()
            assert latest["id"] == job_id and latest["note"] == AFTER_SERVER_RESTART
            assert api.get("/api/collections/notes/documents").json()["total"] == NOTES
            last = NOTES - 1  # committed after the restart
            query = {"query": f"relay station {last * 100 + 7}", "collection": "notes", "top_k": 1}
            assert api.post("/api/search", json=query).json()["hits"][0]["path"] == f"note-{last:03d}.md"
            assert "resumed after the server restarted" in second.output()
        second.stop()

    # The database: every file once, every document with all its chunks, no chunk twice; FAISS holds exactly
    # the chunks' ids.
    assert count(db, "select count(*) from documents") == NOTES
    assert count(db, "select count(*) from documents where status != 'ok'") == 0
    assert (
        count(
            db,
            "select count(*) from documents d where d.chunk_count != "
            "(select count(*) from chunks c where c.document_id = d.id)",
        )
        == 0
    )
    assert count(db, "select count(*) from (select sha256, document_id, ordinal from chunks "
                     "group by document_id, ordinal having count(*) > 1)") == 0  # fmt: skip
    assert count(db, f"select attempts from ingest_runs where id = {job_id}") == 2
    from rag_service.stores.vector_index import VectorIndex

    runtime = Runtime(Settings(_env_file=None, data_dir=tmp_path / "data"))  # type: ignore[call-arg]
    with runtime.sessions() as session:
        collection_id = session.scalar(select(Collection.id).where(Collection.name == "notes"))
    saved = VectorIndex.load(runtime.indexes.path_for(collection_id), 384)
    with sqlite3.connect(db) as conn:
        ids = {row[0] for row in conn.execute("select id from chunks")}
    assert set(saved.ids().tolist()) == ids


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_interrupted_upload_jobs_are_resumed_once_and_only_theirs(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    runtime = Runtime(settings)
    dead = f"{socket.gethostname()}:{dead_pid()}"
    with runtime.sessions() as session:
        kept, emptied = Collection(name="kept", embedder="minilm"), Collection(name="emptied", embedder="minilm")
        session.add_all([kept, emptied])
        session.commit()
        kept_id, emptied_id = kept.id, emptied.id
    uploads = upload_root(settings, kept_id)
    uploads.mkdir(parents=True)
    (uploads / "a.md").write_text("# A\n\nstored before the server died\n", encoding="utf-8")

    def run(collection_id: int, source: Path | str, status: str, **values: object) -> int:
        with runtime.sessions() as session:
            row = IngestRun(collection_id=collection_id, source=str(source), status=status, queue="thread", **values)
            session.add(row)
            session.commit()
            return row.id

    covered = run(kept_id, uploads, "interrupted")  # an older job of the same uploads: the newer one covers it
    killed = run(kept_id, uploads, "running", owner=dead, attempts=1)  # its server was killed mid-ingest
    synced = run(kept_id, tmp_path / "elsewhere", "interrupted")  # a synced folder's job: not an upload
    gone = run(emptied_id, upload_root(settings, emptied_id), "interrupted")  # its stored files are gone

    queued: list[JobState] = []
    assert resume_interrupted(runtime, "thread", queued.append) == [killed]
    assert [(job.id, job.collection, job.status, job.note) for job in queued] == [
        (killed, "kept", "queued", AFTER_SERVER_RESTART)
    ]
    with runtime.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(IngestRun))}
        assert (rows[killed].status, rows[killed].resumes, rows[killed].owner) == ("queued", 1, run_owner())
        assert rows[killed].resumed_at is not None and rows[killed].error is None
        assert {rows[i].status for i in (covered, synced, gone)} == {"interrupted"}
    assert resume_interrupted(runtime, "thread", queued.append) == []  # once: it is queued now, not interrupted

    # Resumed, then killed again: it stays interrupted, and says why; a later upload ingests what is left.
    with runtime.sessions() as session:
        row = session.get(IngestRun, killed)
        assert row is not None
        row.status, row.owner = "running", dead
        session.commit()
    assert resume_interrupted(runtime, "thread", queued.append) == []
    with runtime.sessions() as session:
        row = session.get(IngestRun, killed)
        assert row is not None and (row.status, row.resumes) == ("interrupted", 1)
        assert row.error is not None and row.error.startswith("interrupted again")

    # A restarted container's server often has the pid of the one that died: its old rows are not live.
    earlier = PROCESS_STARTED - timedelta(minutes=5)
    again = run(kept_id, uploads, "running", owner=run_owner(), heartbeat_at=earlier, created_at=earlier)
    assert resume_interrupted(runtime, "thread", queued.append) == [again]
    assert len(queued) == 2
