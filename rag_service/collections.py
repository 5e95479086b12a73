"""Collections: named sets of documents, each with its own embedder and indexes."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rag_service.db.models import Chunk, Collection, Document
from rag_service.embedders import EMBEDDERS
from rag_service.errors import ConflictError, InvalidInputError, NotFoundError
from rag_service.runtime import Runtime
from rag_service.storage import build_originals_store

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class CollectionInfo:
    name: str
    embedder: str
    vector_space: str | None
    documents: int
    chunks: int
    failed_documents: int
    source_path: str | None
    watch: bool
    created_at: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def validate_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )


def find_collection(session: Session, name: str) -> Collection:
    # No valid name has a NUL, and PostgreSQL refuses one in a query parameter.
    collection = None if "\x00" in name else session.scalar(select(Collection).where(Collection.name == name))
    if collection is None:
        raise NotFoundError(f"no collection named {name!r}")
    return collection


def create_collection(runtime: Runtime, name: str, embedder: str | None = None) -> Collection:
    validate_name(name)
    embedder = embedder or runtime.settings.embedder
    if embedder not in EMBEDDERS:
        raise InvalidInputError(f"unknown embedder {embedder!r}; choose one of: {', '.join(sorted(EMBEDDERS))}")
    with runtime.sessions() as session:
        if session.scalar(select(Collection.id).where(Collection.name == name)) is not None:
            raise ConflictError(f"collection {name!r} already exists")
        collection = Collection(name=name, embedder=embedder, vector_space=runtime.embedders.space_for(embedder))
        session.add(collection)
        try:
            session.commit()
        except IntegrityError as exc:
            raise ConflictError(f"collection {name!r} already exists") from exc
        return collection


def get_or_create_collection(runtime: Runtime, name: str, embedder: str | None = None) -> Collection:
    with runtime.sessions() as session:
        existing = session.scalar(select(Collection).where(Collection.name == name))
    if existing is not None:
        if embedder and existing.embedder != embedder:
            raise ConflictError(
                f"collection {name!r} uses the {existing.embedder!r} embedder, not {embedder!r}; "
                "create a new collection to use another embedder"
            )
        return existing
    try:
        return create_collection(runtime, name, embedder)
    except ConflictError:  # created meanwhile by another process
        with runtime.sessions() as session:
            return find_collection(session, name)


def describe(session: Session, collection: Collection) -> CollectionInfo:
    documents = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.collection_id == collection.id, Document.status == "ok")
    )
    failed = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.collection_id == collection.id, Document.status == "failed")
    )
    chunks = session.scalar(select(func.count()).select_from(Chunk).where(Chunk.collection_id == collection.id))
    return CollectionInfo(
        name=collection.name,
        embedder=collection.embedder,
        vector_space=collection.vector_space,
        documents=documents or 0,
        chunks=chunks or 0,
        failed_documents=failed or 0,
        source_path=collection.source_path,
        watch=collection.watch,
        created_at=collection.created_at.isoformat(),
    )


def content_summary(session: Session, collection: Collection, most: int = 8) -> str:
    """One line on what a collection holds, for a reader choosing among collections (MCP's `list_collections`):
    its commonest file types and top-level folders, e.g. "8 .md, 3 .pdf, 1 .docx; folders guides/, ops/"."""
    paths = session.scalars(
        select(Document.path).where(Document.collection_id == collection.id, Document.status == "ok")
    ).all()
    if not paths:
        return "empty: no documents yet"

    def commonest(counts: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:most]

    types = Counter(PurePosixPath(p).suffix.lower() or "(no extension)" for p in paths)
    folders = Counter(p.split("/", 1)[0] + "/" for p in paths if "/" in p)
    shown = commonest(types)
    line = ", ".join(f"{n} {suffix}" for suffix, n in shown)
    if len(types) > most:
        line += f", {len(paths) - sum(n for _, n in shown)} other"
    if folders:
        line += "; folders " + ", ".join(folder for folder, _ in commonest(folders))
        line += ", ..." if len(folders) > most else ""
    return line


def list_collections(runtime: Runtime) -> list[CollectionInfo]:
    with runtime.sessions() as session:
        collections = session.scalars(select(Collection).order_by(Collection.name)).all()
        return [describe(session, c) for c in collections]


def get_collection_info(runtime: Runtime, name: str) -> CollectionInfo:
    with runtime.sessions() as session:
        return describe(session, find_collection(session, name))


def delete_collection(runtime: Runtime, name: str) -> None:
    with runtime.sessions() as session:
        collection_id = find_collection(session, name).id
    # The originals first: where their store cannot be reached the collection stays, whole, and the delete can
    # be sent again; gone afterwards, a later collection given the same id would inherit its files.
    build_originals_store(runtime.settings).delete_collection(collection_id)
    with runtime.sessions() as session:
        collection = session.get(Collection, collection_id)
        if collection is not None:
            session.delete(collection)
            session.commit()
    runtime.indexes.forget(collection_id)
