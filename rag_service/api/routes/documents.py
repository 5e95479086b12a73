"""Getting documents in (upload, server-side sync) and looking at them (documents, chunks in context)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from rag_service import audit
from rag_service.api.auth import ForbiddenError
from rag_service.api.deps import Caller, RowId, State
from rag_service.api.multipart import parse_upload
from rag_service.api.schemas import ChunkContext, DocumentPage, ErrorBody, JobAccepted, SyncRequest
from rag_service.chunks import chunk_in_context
from rag_service.collections import find_collection
from rag_service.db.models import Document
from rag_service.errors import InvalidInputError, NotFoundError
from rag_service.indexing import delete_documents
from rag_service.storage import build_originals_store
from rag_service.uploads import IncomingFile, TooLargeError, store_upload

router = APIRouter(tags=["documents"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                            "description": "Files whose filenames carry their relative paths "
                            "(docs/setup/linux.md), and/or .zip archives.",
                        }
                    },
                },
                # The filename picks the loader by its extension: a part without one is passed over (415 when
                # nothing else in the upload can be read). Clients and test generators read the example here.
                "encoding": {
                    "files": {
                        "headers": {
                            "Content-Disposition": {
                                "schema": {"type": "string"},
                                "example": 'form-data; name="files"; filename="docs/setup/linux.md"',
                            }
                        }
                    }
                },
            }
        },
    }
}


@router.post(
    "/api/collections/{name}/files",
    status_code=202,
    response_model=JobAccepted,
    openapi_extra=UPLOAD_BODY,
    # A route's own entry replaces the app's whole entry for that status, so each names the error body again.
    responses={
        413: {
            "model": ErrorBody,
            "description": "Too large or too many files, or a file over the per-file limit (RAG_MAX_FILE_MB)",
        },
        415: {
            "model": ErrorBody,
            "description": "Nothing in the upload can be ingested: unsupported types (a filename without an "
            "extension included), binary content",
        },
    },
)
async def upload_files(name: str, request: Request, state: State, caller: Caller) -> dict:
    caller.require(name, write=True)
    settings = state.runtime.settings
    with state.runtime.sessions() as session:
        collection = find_collection(session, name)
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 1024 * 1024:
        raise TooLargeError(f"request body of {declared} bytes is over the upload limit of {max_bytes}")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInputError("send the files as multipart/form-data in a field named 'files'")
    try:
        form = await parse_upload(
            request.headers, request.stream(), max_files=settings.max_upload_files + 1, max_fields=100
        )
    except MultiPartException as exc:
        raise InvalidInputError(f"malformed upload: {exc.message}") from exc
    try:
        parts = form.getlist("files")
        if any(not isinstance(item, UploadFile) for item in parts):
            raise InvalidInputError("every part named 'files' must be a file, with a filename")
        uploads = [item for item in parts if isinstance(item, UploadFile)]
        if len(uploads) > settings.max_upload_files:
            raise TooLargeError(
                f"upload has more than {settings.max_upload_files} files, over the limit of {settings.max_upload_files}"
            )
        incoming = [IncomingFile(u.filename or "", u.file, u.size or 0) for u in uploads]
        result = await run_in_threadpool(store_upload, settings, collection.id, incoming)
    finally:
        await form.close()
    source = build_originals_store(settings).source(collection.id)
    # A folder is submitted as a Path, as it always was; an object store's s3:// URL as it is (Path would mangle it).
    job = state.jobs.submit(name, source if "://" in source else Path(source), sync=False)
    skipped = [{"path": path, "reason": reason} for path, reason in result.skipped]
    details = {"job_id": job.id, "files": len(result.stored), "skipped": len(skipped)}
    # A database write: off the event loop, as the upload's own storing is
    await run_in_threadpool(
        audit.record, state.runtime, caller.actor, "upload", collection=name, target=job.id, details=details
    )
    return {"job_id": job.id, "files": len(result.stored), "skipped": skipped}


@router.post("/api/collections/{name}/sync", status_code=202, response_model=JobAccepted)
def sync_folder(name: str, body: SyncRequest, state: State, caller: Caller) -> dict:
    """Ingest a folder on the server (only under RAG_ALLOWED_ROOTS), optionally watching it for edits."""
    caller.require(name, write=True)
    # Well-formed but not permitted (403) or not there (404): the request itself was fine.
    roots = state.runtime.settings.allowed_root_paths()
    if not roots:
        raise ForbiddenError("server-side sync is off: no RAG_ALLOWED_ROOTS are configured")
    folder = Path(body.path).resolve()
    if not any(folder.is_relative_to(root) for root in roots):
        raise ForbiddenError(f"{body.path!r} is not under an allowed root ({', '.join(map(str, roots))})")
    if not folder.is_dir():
        raise NotFoundError(f"{body.path!r} is not a folder on the server")
    with state.runtime.sessions() as session:
        collection = find_collection(session, name)
        collection.source_path, collection.watch = str(folder), body.watch
        session.commit()
        collection_id = collection.id
    job = state.jobs.submit(name, folder, sync=True)
    if body.watch:
        state.watcher.remember(collection_id, folder)
    details = {"job_id": job.id, "path": str(folder), "watch": body.watch}
    audit.record(state.runtime, caller.actor, "sync", collection=name, target=job.id, details=details)
    return {"job_id": job.id}


@router.get("/api/collections/{name}/documents", response_model=DocumentPage)
def list_documents(
    name: str,
    state: State,
    caller: Caller,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=500),
    status: str | None = Query(None, pattern="^(ok|failed)$"),
) -> dict:
    caller.require(name)
    with state.runtime.sessions() as session:
        collection = find_collection(session, name)
        where = [Document.collection_id == collection.id]
        if status:
            where.append(Document.status == status)
        total = session.scalar(select(func.count()).select_from(Document).where(*where)) or 0
        rows = session.scalars(select(Document).where(*where).order_by(Document.path).offset(offset).limit(limit))
        items = [
            {
                "id": d.id,
                "path": d.path,
                "type": d.type,
                "status": d.status,
                "error": d.error,
                "chunks": d.chunk_count,
                "size": d.size,
                "updated_at": d.updated_at.isoformat(),
            }
            for d in rows
        ]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.delete("/api/collections/{name}/documents/{document_id}", status_code=204, response_class=Response)
def delete_document(name: str, document_id: RowId, state: State, caller: Caller) -> Response:
    caller.require(name, write=True)
    with state.runtime.sessions() as session:
        collection = find_collection(session, name)
        document = session.get(Document, document_id)
        if document is None or document.collection_id != collection.id:
            raise NotFoundError(f"no document {document_id} in collection {name!r}")
        path = document.path
    # An uploaded original goes too, or the next upload's ingest would bring the document back. First: where the
    # store cannot be reached the request fails with nothing changed, and can be sent again.
    build_originals_store(state.runtime.settings).delete(collection.id, path)
    delete_documents(state.runtime, collection.id, state.runtime.indexes.peek(collection.id), [document_id])
    details = {"document_id": document_id}
    audit.record(state.runtime, caller.actor, "document.delete", collection=name, target=path, details=details)
    return Response(status_code=204)


@router.get("/api/chunks/{chunk_id}", response_model=ChunkContext)
def get_chunk(
    chunk_id: RowId,
    state: State,
    caller: Caller,
    neighbours: int = Query(1, ge=0, le=10),
    q: str = Query("", max_length=4000, description="The question: its content words are returned to highlight."),
) -> dict:
    """A chunk with its neighbours in the same document, for showing a citation in context."""
    return chunk_in_context(state.runtime, chunk_id, neighbours, caller.collections, question=q)
