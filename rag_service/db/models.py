"""SQLAlchemy models: the database is the source of truth; FAISS and BM25 files are derived from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite gives naive ones back."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class Base(DeclarativeBase):
    pass


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    embedder: Mapped[str] = mapped_column(String(100))
    # The model_id of the engine its vectors come from: queries use an engine of this space (embedders/).
    vector_space: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Server-side folder the collection syncs from, and whether the server watches it for edits.
    source_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    watch: Mapped[bool] = mapped_column(default=False)
    # The number of its last change in chunk_changes (stores/changelog.py): replicas follow the log up to here.
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Changes up to this number were pruned from the log: indexes older than it are compared with the rows.
    change_log_floor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    documents: Mapped[list[Document]] = relationship(
        back_populates="collection", cascade="all, delete-orphan", passive_deletes=True
    )


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("collection_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)  # relative to the ingested folder, forward slashes
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime: Mapped[float] = mapped_column(Float, default=0.0)
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # ok | failed
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    collection: Mapped[Collection] = relationship(back_populates="documents")
    chunks: Mapped[list[Chunk]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )


class Chunk(Base):
    """One retrievable passage. Its id is also its FAISS and BM25 id, so it is never handed out twice."""

    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_collection_id_id", "collection_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heading_path: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the text that was embedded (heading path + text): the embedding cache key.
    sha256: Mapped[str] = mapped_column(String(64), index=True)

    document: Mapped[Document] = relationship(back_populates="chunks")


class EmbeddingCache(Base):
    """Vectors by (model, text sha256): an unchanged or duplicated chunk is never embedded twice.

    `model` is the vector space (the engine's model_id), `engine` what made this vector (torch-bf16, ...).
    It is also where chunk vectors live, so the FAISS files can be rebuilt without re-embedding.
    """

    __tablename__ = "embedding_cache"

    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    engine: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ChunkChange(Base):
    """One chunk id added or removed by the numbered change `seq` of a collection: what a replica applies to its
    in-memory indexes to catch up (stores/changelog.py)."""

    __tablename__ = "chunk_changes"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    op: Mapped[str] = mapped_column(String(6))  # add | remove
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IngestRun(Base):
    """One ingest of a folder or an upload; the API's jobs are these rows."""

    __tablename__ = "ingest_runs"
    __table_args__ = ({"sqlite_autoincrement": True},)  # a job id names one job for good

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    # queued | running | done | failed | cancelled | interrupted (its process died)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    chunks_embedded: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # host:pid of the process running it (or, while queued in-process, holding it), so that others can tell a
    # live run from a dead one; with the heartbeat, the run's lease (rag_service/leases.py). Empty while queued
    # on a broker: the queue holds it then.
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # claims, crashed ones included
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default=false())
    sync: Mapped[bool] = mapped_column(default=False, server_default=false())  # drop documents whose files went
    # Live progress, for the processes that do not run it: at most a second behind.
    files_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chunks_split: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    current: Mapped[str] = mapped_column(Text, default="", server_default="")
    skipped_files: Mapped[list | None] = mapped_column(JSON, nullable=True)
    progress_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who runs it: cli (a command in a terminal), thread (the API process), celery (any worker; a dead worker's
    # run is taken over, not closed as interrupted)
    queue: Mapped[str] = mapped_column(String(20), default="cli", server_default="cli")
    # An interrupted upload run taken up again when a server or worker started (jobs.resume_interrupted): how
    # often (bounded, so a run that kills its process each time is not resumed for ever), when, and the
    # sentence the job shows about it.
    resumes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Conversation(Base):
    """A saved chat of one collection: its turns are the history of the next question asked in it."""

    __tablename__ = "conversations"
    __table_args__ = ({"sqlite_autoincrement": True},)  # an id names one conversation for good

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A signed-in person's conversation is theirs alone until they share it with the collection; one started
    # with a key (or with no sign-in configured) has no owner and belongs to the collection, as before people.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=True, index=True)
    shared: Mapped[bool] = mapped_column(default=False, server_default=false())

    turns: Mapped[list[ConversationTurn]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ConversationTurn.ordinal",
    )


class ConversationTurn(Base):
    """One question and its answer as the user saw them: citations and the passages shown."""

    __tablename__ = "conversation_turns"
    __table_args__ = (UniqueConstraint("conversation_id", "ordinal"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    # What the ask searched for: a follow-up rewritten to stand on its own (None before this was kept)
    standalone_question: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str] = mapped_column(Text)
    answered: Mapped[bool] = mapped_column(default=False)
    backend: Mapped[str] = mapped_column(String(50), default="")
    citations: Mapped[list] = mapped_column(JSON, default=list)
    passages: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class Feedback(Base):
    """Thumbs up or down on one answer. It copies the question, answer, citations and passages, so that it
    outlives the conversation it was given in (deleting the conversation only unlinks it)."""

    __tablename__ = "feedback"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_turns.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    # The owner of the conversation it was given in, copied: feedback on a person's private conversation (which
    # copies its text) stays as private as the conversation, also once the conversation is deleted.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=True, index=True)
    rating: Mapped[str] = mapped_column(String(10))  # up | down
    comment: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text)
    standalone_question: Mapped[str | None] = mapped_column(Text, nullable=True)  # the turn's, copied
    # A follow-up's earlier turns in its conversation ([{question, answer}], oldest first), copied with it
    context: Mapped[list | None] = mapped_column(JSON, nullable=True)
    answer: Mapped[str] = mapped_column(Text)
    answered: Mapped[bool] = mapped_column(default=False)
    citations: Mapped[list] = mapped_column(JSON, default=list)
    passages: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One thing someone did (rag_service/audit.py): who (`actor`: a key's name, `key:<fingerprint>`, `local`,
    `cli:<user>`; never a key), what (`action`), where (`collection`, `target`), and the rest in `details`.
    No foreign keys: the trail outlives the collections and conversations it names."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_collection_at", "collection", "at"),
        {"sqlite_autoincrement": True},
    )

    # 64-bit on PostgreSQL (a row per ask adds up); SQLite's INTEGER PRIMARY KEY is 64-bit already.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    collection: Mapped[str | None] = mapped_column(String(200), nullable=True)
    target: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Person(Base):
    """Someone who signed in through the OpenID provider: who they are there (issuer + subject), and the groups
    their last sign-in carried, from which their rights are worked out on each request (`access_grants`)."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("issuer", "subject"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    groups: Mapped[list] = mapped_column(JSON, default=list)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessGrant(Base):
    """What members of a provider group may do: `role` (read, write or admin) on `collection` (`*`: every
    collection). Written only by admins; a sign-in reads these and never changes them."""

    __tablename__ = "access_grants"
    __table_args__ = (UniqueConstraint("group_name", "collection"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_name: Mapped[str] = mapped_column(String(200))
    collection: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A browser's sign-in, held server-side: the cookie carries a random token whose SHA-256 is `id`, so a
    leaked database cannot be replayed as cookies. Signing out deletes the row."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    id_token: Mapped[str] = mapped_column(Text, default="")  # the provider's logout wants it back as a hint
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SignInAttempt(Base):
    """A sign-in sent to the provider and not back yet: its state (hashed), nonce and PKCE verifier. The
    callback deletes the row it uses, so a state is good once."""

    __tablename__ = "sign_in_attempts"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    return_to: Mapped[str] = mapped_column(String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
