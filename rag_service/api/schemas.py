"""Request and response bodies of the REST API (they make /openapi.json, which clients and tests rely on)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from rag_service.api.limits import MAX_CONTENT_PARTS


def _whole_number(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer; strict mode would not.
    return int(value) if isinstance(value, float) and value.is_integer() else value


WHOLE_NUMBER = BeforeValidator(_whole_number)


class Request(BaseModel):
    """A request body: values must have the JSON types the schema gives (no `false` for a number, no "2" for
    an integer), so that what /openapi.json refuses the server refuses too."""

    model_config = ConfigDict(strict=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    type: str = Field(description="The same as code; OpenAI clients read this field.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class CollectionCreate(Request):
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$",
        description="Letters, digits, '_', '-' or '.', starting with a letter or digit.",
        examples=["team-docs"],
    )
    embedder: Literal["minilm", "multilingual"] | None = None


class CollectionOut(BaseModel):
    name: str
    embedder: str
    vector_space: str | None = Field(description="Model id of the engine its vectors come from; queries use it.")
    documents: int
    chunks: int
    failed_documents: int
    source_path: str | None
    watch: bool
    created_at: str


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class Failure(BaseModel):
    path: str
    reason: str


class JobAccepted(BaseModel):
    job_id: int
    files: int | None = Field(default=None, description="Files stored for ingest (uploads).")
    skipped: list[Failure] = Field(
        default_factory=list, description="Uploaded files not stored, as ingest would pass them over, and why."
    )


class SyncRequest(Request):
    path: str = Field(min_length=1, max_length=4096, pattern=r"^[^\x00]*$", description="A folder on the server.")
    watch: bool = False


class JobOut(BaseModel):
    id: int
    collection: str
    source: str = Field(description='"upload", or the synced folder (its path only for keys that may write)')
    status: Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
    files_total: int
    files_done: int = Field(description="Files finished: embedded and written, unchanged, or failed.")
    files_read: int = Field(description="Files read and split so far (ahead of files_done).")
    chunks_split: int = Field(description="Chunks the files read so far were split into.")
    chunks_embedded: int
    current: str
    failures: list[Failure]
    skipped: list[Failure] = Field(description="Files the walk passed over (unsupported, ignored, too big), and why.")
    summary: dict[str, Any] | None
    error: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    resumes: int = Field(
        default=0, description="Times the job was taken up again after its process stopped (RAG_JOB_RESUMES)."
    )
    resumed_at: str | None = None
    note: str = Field(
        default="", description='What happened to it besides its status: "... resumed after the server restarted".'
    )


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
    page_unit: str | None = Field(default=None, description="What `page` counts: page, slide, sheet or chapter.")
    start_line: int | None
    end_line: int | None


class ChunkContext(BaseModel):
    chunk: ChunkOut
    before: list[ChunkOut]
    after: list[ChunkOut]
    highlight: list[str] = Field(
        default_factory=list, description="Words of these chunks that carry the question's meaning (lower case)."
    )


class RetrievalParams(Request):
    collection: str = Field(min_length=1, max_length=64)
    top_k: Annotated[int, Field(ge=1, le=100), WHOLE_NUMBER] | None = None
    filter: str | None = Field(default=None, max_length=1000, description="Path prefix or glob.")
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    mode: Literal["hybrid", "dense", "lexical"] | None = None


# Fields bounded by settings (RAG_MAX_QUESTION_CHARS, ...) have no maximum here: api/limits.py checks them
# and writes them into /openapi.json.


# Some character that is not whitespace, for JSON Schema (ECMA-262 `\s`, which has U+FEFF) and for Python's
# str.strip (which has U+001C..U+001F and U+0085) alike: `\S` means a different set in each, so a text the
# schema accepted could still be refused as empty, or the other way round.
NOT_BLANK = r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_NOT_BLANK = re.compile(NOT_BLANK)


def _not_blank(value: str) -> str:
    # Checked here rather than by `pattern=`, whose refusal would quote the character class back to the caller.
    if not _NOT_BLANK.search(value):
        raise ValueError("only whitespace; give some text")
    return value


TEXT = Annotated[
    str,
    Field(min_length=1, description="Some text, not only whitespace.", json_schema_extra={"pattern": NOT_BLANK}),
    AfterValidator(_not_blank),
]


class SearchRequest(RetrievalParams):
    query: TEXT


class HitOut(BaseModel):
    rank: int
    score: float
    path: str
    text: str
    chunk_id: int
    document_id: int
    page: int | None = None
    page_unit: str | None = Field(default=None, description="What `page` counts: page, slide, sheet or chapter.")
    start_line: int | None = None
    end_line: int | None = None
    heading_path: str
    dense_score: float | None
    lexical_score: float | None
    chunk_ids: list[int]


class SearchResponse(BaseModel):
    hits: list[HitOut]


class Turn(Request):
    role: Literal["user", "assistant"]
    content: str


class LlmOptions(Request):
    # An unknown option (`api_key`, `extra_body`) is refused by name: ignored, it would look as if it had worked.
    model_config = ConfigDict(strict=True, extra="forbid")

    backend: Literal["extractive", "llamacpp", "openai"] | None = None
    base_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="An OpenAI-compatible server the operator allowed (RAG_ALLOWED_LLM_BASE_URLS).",
    )
    model: str | None = Field(default=None, max_length=200)
    max_tokens: Annotated[int, Field(ge=1, le=8192), WHOLE_NUMBER] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


class AskRequest(RetrievalParams):
    question: TEXT
    history: list[Turn] = Field(
        default_factory=list, description="Earlier turns; empty with a conversation_id: the conversation's turns."
    )
    conversation_id: Annotated[int, Field(ge=1, le=2_147_483_647), WHOLE_NUMBER] | None = Field(
        default=None, description="A saved conversation of this collection: the turn is appended to it."
    )
    llm: LlmOptions | None = None
    stream: bool = False


class CitationOut(BaseModel):
    n: int
    path: str
    chunk_id: int
    quote: str = Field(description="The quoted excerpt, or the start of the passage when the answer paraphrases.")
    heading: str = Field(default="", description="The section the excerpt stands in.")
    page: int | None = None
    page_unit: str | None = Field(default=None, description="What `page` counts: page, slide, sheet or chapter.")
    start_line: int | None = None
    end_line: int | None = None


class EvidenceOut(BaseModel):
    """The check before any backend answers: why a question was declined, or what it rested on."""

    answerable: bool
    reason: str
    dense: float | None
    coverage: float
    missing: list[str]
    agreement: bool
    row: bool = Field(default=False, description="A table row holds the question's terms (stands in for `dense`).")


class ReaderChoiceOut(BaseModel):
    passage: int = Field(description="The passage number ([n]) of the sentence.")
    unit: int
    text: str
    where: str


class ReaderVerdictOut(BaseModel):
    reader: str
    p_answer: float = Field(description="The reader's probability that its chosen sentence states the answer.")
    support: float = Field(description="The mean of that probability over the sentences shown: what decides.")
    chosen: ReaderChoiceOut | None
    candidates: int
    prompt_tokens: int
    seconds: float


class DecisionOut(BaseModel):
    status: str
    reader: ReaderVerdictOut | None = None
    reader_error: str | None = None


class ReaderOut(BaseModel):
    name: str = Field(description="llamacpp, openai, or off (the extractive rules decide alone).")
    active: bool
    reason: str
    model: str
    details: dict[str, Any]


class AskResponse(BaseModel):
    answer: str
    answered: bool
    citations: list[CitationOut]
    hits: list[HitOut]
    question: str
    standalone_question: str = Field(
        description='The question as it was searched for: a follow-up rewritten to stand on its own ("Searched '
        'for: ..."), else the question.'
    )
    backend: str
    status: Literal["answered", "partial", "declined"] = Field(
        description="answered: the answer is written from the passages; partial: the passages are about the "
        "question but none states what it asks (the closest are in `hits`); declined: nothing found is about it."
    )
    decision: DecisionOut | None = Field(default=None, description="The reader's verdict, when a reader ran.")
    unsupported: list[str] | None = Field(
        default=None, description="Sentences of a generated answer that no passage supports."
    )
    evidence: EvidenceOut | None = None
    uncited: bool | None = Field(
        default=None, description="Answered, but without a valid [n] citation: not grounded in a passage."
    )
    error: str | None = None
    conversation_id: int | None = Field(default=None, description="The conversation the turn was saved in.")
    turn_id: int | None = Field(default=None, description="The saved turn: what feedback is given on.")


class BackendDetail(BaseModel):
    name: str
    allowed: bool = Field(description="The operator lets callers choose it (RAG_ALLOWED_BACKENDS).")
    configured: bool = Field(description="The settings name what it needs: a model file, a server.")
    available: bool | None = Field(description="It works now; null when not checked because not allowed.")
    usable: bool = Field(description="Allowed and available: what a client may offer.")
    reason: str | None = Field(description="Why it is not usable.")
    loaded: bool | None = Field(description="llamacpp: the model is in memory already.")
    models: list[str] = Field(description="openai: the model names a caller may ask for.")


class AnswerBackends(BaseModel):
    default: str
    backends: list[str] = Field(description="The usable backends: allowed and working now.")
    details: list[BackendDetail]
    embedders: list[str]
    auth_required: bool
    reader: ReaderOut = Field(description="The reader RAG_READER gives on this server, and why.")


class ContentPart(Request):
    type: str = Field(max_length=50, description="Only `text` parts are read.")
    text: str | None = None


class ChatMessage(Request):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)] | None = None


def _has_text(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "pattern": r"\S"}


# At least one user message with text: the last such message is the question (api/routes/openai_compat.py).
QUESTION_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                _has_text({"type": "string"}),
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "text"}, "text": _has_text({"type": "string"})},
                    },
                },
            ]
        },
    },
}


class ChatCompletionRequest(Request):
    model: str = Field(min_length=1, max_length=64, description="A collection name.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation; the last user message with text is the question.",
        json_schema_extra={"contains": QUESTION_MESSAGE},
    )
    stream: bool = False
    max_tokens: Annotated[int, Field(ge=1, le=8192), WHOLE_NUMBER] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


class ConversationCreate(Request):
    collection: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=200, description="Empty: the first question becomes the title.")


class ConversationRename(Request):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S")


class ConversationShare(Request):
    shared: bool = Field(
        description="true: everyone who may read the collection may read it (not continue or change it); "
        "false: private to its owner again."
    )


class FeedbackOut(BaseModel):
    id: int
    collection: str
    turn_id: int | None = Field(description="The answer it was given on; null once its conversation is deleted.")
    rating: Literal["up", "down"]
    comment: str
    question: str
    standalone_question: str = Field(
        default="", description="What the ask searched for: a follow-up rewritten to stand on its own."
    )
    context: list[dict[str, Any]] = Field(
        default_factory=list, description="The conversation's earlier turns ({question, answer}), oldest first."
    )
    answer: str
    answered: bool
    citations: list[dict[str, Any]]
    passages: list[dict[str, Any]] = Field(description="The passages shown with the answer.")
    created_at: str | None
    updated_at: str | None


class FeedbackList(BaseModel):
    items: list[FeedbackOut]


class FeedbackCreate(Request):
    turn_id: Annotated[int, Field(ge=1, le=2_147_483_647), WHOLE_NUMBER] = Field(
        description="The saved answer (a conversation turn, `turn_id` of /api/ask's result)."
    )
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class TurnFeedback(BaseModel):
    rating: Literal["up", "down"]
    comment: str


class TurnOut(BaseModel):
    id: int
    question: str
    standalone_question: str = Field(
        default="", description="What the ask searched for: a follow-up rewritten to stand on its own."
    )
    answer: str
    answered: bool
    backend: str
    citations: list[dict[str, Any]]
    passages: list[dict[str, Any]] = Field(description="The passages shown with the answer (hits).")
    created_at: str | None
    feedback: TurnFeedback | None


class ConversationSummary(BaseModel):
    id: int
    collection: str
    title: str
    turns: int
    created_at: str | None
    updated_at: str | None
    shared: bool = Field(False, description="Its owner shared it with the collection: others may read it.")
    mine: bool = Field(False, description="The signed-in caller owns it (and alone may continue or change it).")
    owner: str | None = Field(
        None,
        description="The owner's e-mail (or name); null for a conversation started with an API key or "
        "without sign-in, which is the collection's.",
    )


class ConversationList(BaseModel):
    conversations: list[ConversationSummary]


class ConversationOut(ConversationSummary):
    items: list[TurnOut]


class Features(BaseModel):
    server_sync: bool = Field(description="POST /api/collections/{name}/sync is on (RAG_ALLOWED_ROOTS is set).")
    max_question_chars: int = Field(description="The longest question accepted (RAG_MAX_QUESTION_CHARS).")
    embedder_scripts: dict[str, list[str]] = Field(description="The writing systems each embedder reads.")
    auth_required: bool
    sign_in: bool = Field(description="People sign in with the team's OpenID provider (/auth/login).")


class CollectionRole(BaseModel):
    collection: str = Field(description="A collection's name, or * for every collection.")
    role: str = Field(description="read, write or admin.")


class Me(BaseModel):
    signed_in: bool = Field(description="A person is signed in with this browser (the session cookie).")
    sign_in: bool = Field(description="Sign-in is configured; /auth/login starts it.")
    actor: str | None = Field(description="Who the caller is in the audit trail; null when nobody is.")
    email: str | None = None
    name: str | None = None
    groups: list[str] = Field(default_factory=list, description="The groups the last sign-in carried.")
    roles: list[CollectionRole] = Field(default_factory=list, description="What those groups give, per collection.")
    admin: bool = Field(False, description="May read the audit trail and edit who may do what.")
    csrf_token: str | None = Field(None, description="Send as X-CSRF-Token on every change made with the cookie.")


class LogoutOut(BaseModel):
    logout_url: str | None = Field(description="The provider's own sign-out, for the browser to visit; or null.")


class GrantIn(Request):
    group: str = Field(
        min_length=1, max_length=200, pattern=r"\S", description="A group as the provider's groups claim names it."
    )
    collection: str = Field(
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.\-]{0,63})$", description="A collection's name, or * for every one."
    )
    role: Literal["read", "write", "admin"]


class GrantOut(GrantIn):
    id: int
    created_by: str
    created_at: datetime


class RuleOut(BaseModel):
    group: str
    collection: str
    role: str
    source: int | str = Field(description="The grant's id, or RAG_OIDC_ADMIN_GROUPS for the setting.")


class PersonRight(BaseModel):
    collection: str
    role: str
    from_: list[RuleOut] = Field(alias="from", description="The rules that give it.")

    model_config = ConfigDict(populate_by_name=True)


class PersonAccess(BaseModel):
    id: int
    email: str
    name: str
    groups: list[str]
    last_sign_in: datetime
    admin: bool
    rights: list[PersonRight]


class AccessOut(BaseModel):
    admin_groups: list[str] = Field(description="RAG_OIDC_ADMIN_GROUPS: admins on every collection, from settings.")
    grants: list[GrantOut]
    people: list[PersonAccess] = Field(description="Everyone who has signed in, with what their groups give them.")


class AuditEventOut(BaseModel):
    id: int
    at: str = Field(description="When, ISO 8601 in UTC.")
    actor: str = Field(
        description="Who: an API key's name, `key:<first 8 hex of its SHA-256>` for an unnamed key, `local` "
        "without keys, `cli:<user>` at a terminal, `system` for the service itself. Never a key."
    )
    action: str = Field(
        description="ask, search, upload, sync, document.delete, collection.create, collection.delete, "
        "conversation.create, conversation.rename, conversation.share, conversation.delete, feedback, job.cancel, "
        "audit.read, audit.export, audit.purge, access.keys, access.grant, access.revoke, sign_in, sign_in.failed, "
        "sign_out"
    )
    collection: str | None
    target: str | None = Field(description="What it acted on: a conversation or job id, a document's path.")
    details: dict[str, Any] = Field(
        description="The rest: an ask's status, backend, passages shown (path, chunk id, location) and, unless "
        "RAG_AUDIT_QUESTIONS=false, its question and answer."
    )


class AuditPage(BaseModel):
    items: list[AuditEventOut] = Field(description="Newest first.")
    total: int = Field(description="Events matching the filters, all pages together.")
    offset: int
    limit: int
