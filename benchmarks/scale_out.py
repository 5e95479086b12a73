"""Several machines on this one: Celery worker throughput, replication lag, and a new replica's catch-up.

    python -m benchmarks.scale_out [--quick]

Needs the local PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379); every database it makes is
dropped at the end. Results land in benchmarks/results/scale-out-*.{json,md}, with the CPU they were taken on.

- Throughput: the git-doc .txt files split into four collections (four jobs, since one collection's jobs run
  one at a time), ingested by one worker process, then by two, each with one torch thread.
- Lag: a chunk committed straight into the database, then timed until a search on a running API replica
  returns it (searches apply missing changes first) and until the replica's follower has applied it in the
  background (/readyz says 0 changes behind), with LISTEN/NOTIFY and with polling alone.
- Catch-up: a fresh replica loading a 100k-chunk collection, from the database alone and from a snapshot of
  90k plus the 10k changes after it (synthetic vectors: what is measured is reading and indexing, not embedding).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import redis

from benchmarks.run import RESULTS, machine
from tests.integration.processes import collection_with_document, start_api, start_worker

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
GIT_DOC = Path("/usr/share/doc/git-doc")


def _database() -> str:
    name = f"bench_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _env(data_dir: Path, database: str, broker: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data_dir), RAG_DATABASE_URL=_url(database), RAG_BROKER_URL=broker, **extra)
    return env


def throughput(work: Path, workers: int, files: list[Path], broker: str) -> dict[str, Any]:
    from rag_service.db.models import Collection, IngestRun
    from rag_service.jobs import JobManager
    from rag_service.runtime import Runtime
    from rag_service.settings import Settings

    database = _database()
    try:
        settings = Settings(
            _env_file=None, data_dir=work / f"api-{workers}", database_url=_url(database), broker_url=broker
        )
        runtime = Runtime(settings)
        parts = [work / f"part-{workers}-{n}" for n in range(4)]
        for n, folder in enumerate(parts):
            folder.mkdir(parents=True)
            for path in files[n::4]:
                shutil.copy(path, folder / path.name)
        with runtime.sessions() as session:
            for n in range(4):
                session.add(Collection(name=f"part{n}", embedder="minilm", vector_space=None))
            session.commit()
        threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        processes = [
            start_worker(work, f"w{workers}-{n}", _env(work / f"w{workers}-{n}", database, broker, **threads), 180)
            for n in range(workers)
        ]
        manager = JobManager(runtime)
        started = time.perf_counter()
        ids = [manager.submit(f"part{n}", folder, sync=False).id for n, folder in enumerate(parts)]
        while True:
            with runtime.sessions() as session:
                runs = [session.get(IngestRun, i) for i in ids]
                if all(r is not None and r.status in ("done", "failed") for r in runs):
                    break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        for process in processes:
            process.stop()
        chunks = sum(r.chunks_embedded for r in runs if r is not None)
        return {
            "workers": workers,
            "jobs": len(ids),
            "files": sum(r.files_done for r in runs if r is not None),
            "chunks": chunks,
            "wall_seconds": round(wall, 2),
            "chunks_per_second": round(chunks / wall, 1),
            "statuses": sorted({r.status for r in runs if r is not None}),
        }
    finally:
        _drop(database)


def lag(work: Path, samples: int, listen: bool) -> dict[str, Any]:
    """Commit one chunk at a time straight into the database; time until replica B serves and has applied it."""
    from sqlalchemy import select

    from rag_service.db.embedding_cache import store_cached_vectors
    from rag_service.db.models import Chunk, Collection
    from rag_service.runtime import Runtime
    from rag_service.settings import Settings
    from rag_service.stores.changelog import record_changes

    database = _database()
    env = _env(work / f"lag-replica-{listen}", database, "", RAG_REPLICA_LISTEN=str(listen).lower())
    env.pop("RAG_BROKER_URL")
    writer = Runtime(Settings(_env_file=None, data_dir=work / "lag-writer", database_url=_url(database)))
    collection_id, document_id = collection_with_document(writer, "team", "log.md")
    embedder = writer.embedders.for_collection("minilm", "all-MiniLM-L6-v2")

    def commit_chunk(n: int) -> tuple[str, float]:
        """One chunk with a unique word, committed with its vector and change; (the word, when committed)."""
        token = f"quokka{n}zebra"
        text = f"The {token} ledger entry number {n} records a berth change."
        vector = embedder.embed_documents([text])[0]
        sha = hashlib.sha256(f"{n}{text}".encode()).hexdigest()
        with writer.sessions() as session:
            chunk = Chunk(document_id=document_id, collection_id=collection_id, ordinal=n, text=text, sha256=sha)
            session.add(chunk)
            session.flush()
            store_cached_vectors(session, "all-MiniLM-L6-v2", {sha: vector}, embedder.engine)
            record_changes(session, collection_id, added=[chunk.id])
            session.commit()
        return token, time.perf_counter()

    replica = start_api(work, f"lag-replica-{listen}", env)
    searchable, applied = [], []
    try:
        with httpx.Client(base_url=replica.base, timeout=30) as client:
            client.post("/api/search", json={"query": "warm", "collection": "team"})
            for n in range(samples):
                _, committed = commit_chunk(n)
                # Applied in the background first (what the follower achieves without any search) ...
                while client.get("/readyz").json()["replication"]["changes_behind"]:
                    time.sleep(0.005)
                applied.append(time.perf_counter() - committed)
                time.sleep(0.3)  # let searches find nothing pending: the next sample starts clean
        with writer.sessions() as session:
            assert session.scalar(select(Collection.change_seq)) == samples
        # ... and, with a search right after each commit, what a user asking at once gets.
        with httpx.Client(base_url=replica.base, timeout=30) as client:
            for n in range(samples, samples * 2):
                token, committed = commit_chunk(n)
                while True:
                    hits = client.post("/api/search", json={"query": token, "collection": "team", "top_k": 3}).json()[
                        "hits"
                    ]
                    if any(token in hit["text"] for hit in hits):
                        break
                searchable.append(time.perf_counter() - committed)
    finally:
        replica.stop()
        _drop(database)
    return {
        "listen_notify": listen,
        "applied_by_follower": _percentiles(applied),
        "searchable": _percentiles(searchable),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def catch_up(work: Path, total: int) -> dict[str, Any]:
    from sqlalchemy import insert

    from rag_service.db.models import Chunk, Collection, EmbeddingCache
    from rag_service.runtime import Runtime
    from rag_service.settings import Settings
    from rag_service.stores.changelog import record_changes

    database = _database()
    try:
        settings = Settings(_env_file=None, data_dir=work / "catchup-writer", database_url=_url(database))
        writer = Runtime(settings)
        collection_id, document_id = collection_with_document(writer, "big", "big.md", change_seq=0)
        rng = np.random.default_rng(0)
        words = np.array(["berth", "crane", "tide", "ledger", "harbour", "shift", "dock", "gauge", "cargo", "pilot"])
        snapshot_at = int(total * 0.9)
        per_change = 500  # chunks per logged change, as a file's worth of a large ingest

        def write(start: int, stop: int) -> None:
            for begin in range(start, stop, per_change):
                end = min(stop, begin + per_change)
                vectors = rng.standard_normal((end - begin, 384)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                shas = [hashlib.sha256(f"chunk-{i}".encode()).hexdigest() for i in range(begin, end)]
                texts = [" ".join(rng.choice(words, 40)) + f" item{i}" for i in range(begin, end)]
                with writer.sessions() as session:
                    session.execute(
                        insert(EmbeddingCache),
                        [
                            {"model": "all-MiniLM-L6-v2", "sha256": sha, "vector": v.tobytes(), "engine": "synthetic"}
                            for sha, v in zip(shas, vectors, strict=True)
                        ],
                    )
                    ids = session.scalars(
                        insert(Chunk).returning(Chunk.id),
                        [
                            {
                                "document_id": document_id,
                                "collection_id": collection_id,
                                "ordinal": i,
                                "text": t,
                                "heading_path": "",
                                "sha256": sha,
                            }
                            for i, t, sha in zip(range(begin, end), texts, shas, strict=True)
                        ],
                    ).all()
                    record_changes(session, collection_id, added=list(ids))
                    session.commit()

        started = time.perf_counter()
        write(0, snapshot_at)
        snapshot_runtime = Runtime(
            Settings(_env_file=None, data_dir=work / "catchup-snap", database_url=_url(database))
        )
        with snapshot_runtime.sessions() as session:
            big = session.get(Collection, collection_id)
        snapshot_runtime.indexes.save(snapshot_runtime.indexes.get(big))
        write(snapshot_at, total)
        fill_seconds = time.perf_counter() - started

        results: dict[str, Any] = {
            "chunks": total,
            "snapshot_chunks": snapshot_at,
            "fill_seconds": round(fill_seconds, 1),
        }
        for label, seed_dir in (("from_database", None), ("from_snapshot_plus_log", work / "catchup-snap" / "faiss")):
            data_dir = work / f"catchup-{label}"
            if seed_dir is not None:
                shutil.copytree(seed_dir, data_dir / "faiss")
            replica = Runtime(Settings(_env_file=None, data_dir=data_dir, database_url=_url(database)))
            replica.embedders.for_collection("minilm", "all-MiniLM-L6-v2")  # the model load is not catch-up
            with replica.sessions() as session:
                big = session.get(Collection, collection_id)
            t0 = time.perf_counter()
            indexes = replica.indexes.get(big)
            vectors_seconds = time.perf_counter() - t0
            t1 = time.perf_counter()
            replica.indexes.ensure_lexical(indexes)
            lexical_seconds = time.perf_counter() - t1
            assert indexes.vectors.size == total and indexes.seq == big.change_seq
            results[label] = {
                "vector_index_seconds": round(vectors_seconds, 2),
                "bm25_seconds": round(lexical_seconds, 2),
                "total_seconds": round(vectors_seconds + lexical_seconds, 2),
            }
        return results
    finally:
        _drop(database)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    vector_flags = [f for f in m["cpu_flags"] if "avx" in f or "amx" in f or "vnni" in f]
    lines = [
        f"# rag-service scale-out benchmark — {m['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; flags: {' '.join(vector_flags)}",
        "",
        "## Worker throughput (four jobs of git-doc .txt files, one torch thread per worker process)",
        "",
        "| workers | files | chunks | wall s | chunks/s |",
        "|---|---|---|---|---|",
    ]
    for row in report["throughput"]:
        lines.append(
            f"| {row['workers']} | {row['files']} | {row['chunks']} | {row['wall_seconds']} "
            f"| {row['chunks_per_second']} |"
        )
    lines += [
        "",
        "## Replication lag: commit → other replica",
        "",
        "| LISTEN/NOTIFY | applied by follower p50 / p95 ms | searchable p50 / p95 ms |",
        "|---|---|---|",
    ]
    for row in report["lag"]:
        a, s = row["applied_by_follower"], row["searchable"]
        lines.append(f"| {row['listen_notify']} | {a['p50_ms']} / {a['p95_ms']} | {s['p50_ms']} / {s['p95_ms']} |")
    c = report["catch_up"]
    lines += [
        "",
        f"## A fresh replica catching up on {c['chunks']} chunks",
        "",
        "| start | FAISS s | BM25 s | total s |",
        "|---|---|---|---|",
    ]
    for label in ("from_database", "from_snapshot_plus_log"):
        row = c[label]
        lines.append(
            f"| {label.replace('_', ' ')} | {row['vector_index_seconds']} | {row['bm25_seconds']} "
            f"| {row['total_seconds']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a third of the files, 20 lag samples, 30k chunks")
    args = parser.parse_args()
    files = sorted(GIT_DOC.rglob("*.txt"))
    if args.quick:
        files = files[::3]
    broker_db = 15  # the tests take 1 to 14
    broker = f"redis://127.0.0.1:6379/{broker_db}"
    redis.Redis(db=broker_db).flushdb()
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        work = Path(tmp)
        report: dict[str, Any] = {"machine": machine(), "corpus": {"files": len(files)}}
        report["throughput"] = [throughput(work, n, files, broker) for n in (1, 2)]
        samples = 20 if args.quick else 40
        report["lag"] = [lag(work, samples, listen) for listen in (True, False)]
        report["catch_up"] = catch_up(work, 30_000 if args.quick else 100_000)
    redis.Redis(db=broker_db).flushdb()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"scale-out-{stamp}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"scale-out-{stamp}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
