"""Request and response bodies of the REST API (they make /openapi.json, which clients and tests rely on)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str
    message: str
    type: str = Field(description="The same as code; OpenAI clients read this field.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, examples=["team-docs"])
    embedder: Literal["minilm", "multilingual"] | None = None


class CollectionOut(BaseModel):
    name: str
    embedder: str
    documents: int
    chunks: int
    failed_documents: int
    source_path: str | None
    watch: bool
    created_at: str


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class JobAccepted(BaseModel):
    job_id: int
    files: int | None = None


class SyncRequest(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    watch: bool = False


class Failure(BaseModel):
    path: str
    reason: str


class JobOut(BaseModel):
    id: int
    collection: str
    source: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    files_total: int
    files_done: int
    chunks_embedded: int
    current: str
    failures: list[Failure]
    summary: dict[str, Any] | None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class DocumentOut(BaseModel):
    id: int
    path: str
    type: str
    status: str
    error: str | None
    chunks: int
    size: int
    updated_at: str


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    total: int
    offset: int
    limit: int


class ChunkOut(BaseModel):
    id: int
    document_id: int
    path: str
    ordinal: int
    text: str
    heading_path: str
    page: int | None
    start_line: int | None
    end_line: int | None


class ChunkContext(BaseModel):
    chunk: ChunkOut
    before: list[ChunkOut]
    after: list[ChunkOut]


class RetrievalParams(BaseModel):
    collection: str = Field(min_length=1, max_length=64)
    top_k: int | None = Field(default=None, ge=1, le=100)
    filter: str | None = Field(default=None, max_length=1000, description="Path prefix or glob.")
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    mode: Literal["hybrid", "dense", "lexical"] | None = None


class SearchRequest(RetrievalParams):
    query: str = Field(min_length=1, max_length=4000)


class HitOut(BaseModel):
    rank: int
    score: float
    path: str
    text: str
    chunk_id: int
    document_id: int
    page: int | None = None
    start_line: int | None = None
    end_line: int | None = None
    heading_path: str
    dense_score: float | None
    lexical_score: float | None
    chunk_ids: list[int]


class SearchResponse(BaseModel):
    hits: list[HitOut]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class LlmOptions(BaseModel):
    backend: Literal["extractive", "llamacpp", "openai"] | None = None
    base_url: str | None = Field(default=None, max_length=2000)
    model: str | None = Field(default=None, max_length=200)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


class AskRequest(RetrievalParams):
    question: str = Field(min_length=1, max_length=4000)
    history: list[Turn] = Field(default_factory=list, max_length=50)
    llm: LlmOptions | None = None
    stream: bool = False


class CitationOut(BaseModel):
    n: int
    path: str
    chunk_id: int
    quote: str
    page: int | None = None
    start_line: int | None = None
    end_line: int | None = None


class AskResponse(BaseModel):
    answer: str
    answered: bool
    citations: list[CitationOut]
    hits: list[HitOut]
    question: str
    standalone_question: str
    backend: str
    error: str | None = None


class AnswerBackends(BaseModel):
    default: str
    backends: list[str]
    embedders: list[str]
    auth_required: bool


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model: str = Field(min_length=1, max_length=64, description="A collection name.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
