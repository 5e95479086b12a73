"""The FastAPI application: routers, error handlers, metrics, the job queue, the index follower, the folder
watcher, the web UI."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rag_service import audit
from rag_service.api import limits
from rag_service.api.auth import Authenticator, KeyChecker, load_keys
from rag_service.api.deps import AppState
from rag_service.api.errors import documented_methods, install_error_handlers
from rag_service.api.limits import BodyLimit
from rag_service.api.metrics import Metrics
from rag_service.api.routes import access as access_routes
from rag_service.api.routes import audit as audit_routes
from rag_service.api.routes import (
    collections,
    conversations,
    documents,
    features,
    feedback,
    health,
    jobs,
    openai_compat,
    query,
    signin,
)
from rag_service.api.schemas import ErrorBody
from rag_service.db.models import Collection
from rag_service.jobs import JobManager
from rag_service.mcp.server import http_endpoint
from rag_service.runtime import Runtime
from rag_service.settings import Settings, get_settings
from rag_service.stores.follower import IndexFollower
from rag_service.watch import FolderWatcher

log = logging.getLogger(__name__)
UPLOAD_PATH = re.compile(r"/api/collections/[^/]+/files")  # uploads have limits of their own
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Every route may answer with these; all share the one error body.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Bad input",
        401: "Missing or invalid API key",
        403: "The API key may not do this (a read-only key's write; the audit trail without the admin flag)",
        404: "Unknown collection, job, document or chunk",
        409: "Conflict with the current state",
        413: "Too large",
        422: "Request does not match the schema",
        503: "An answer backend or the database is unavailable",
        504: "No complete answer within RAG_ASK_TIMEOUT_SECONDS",
    }.items()
}


class WebFiles(StaticFiles):
    """The web UI's files, mounted at /. A documented API path reaches here only with a method it does not
    take (GET /api/ask): that is a 405 with `Allow`, not a missing file."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and documented_methods(scope["app"], scope["path"]) is not None:
            raise StarletteHTTPException(status_code=405)
        await super().__call__(scope, receive, send)


def _warm_up(state: AppState) -> None:
    """Load the default embedder and every collection's indexes before /readyz says ready."""
    runtime = state.runtime
    try:
        runtime.embedders.get(runtime.settings.embedder).embed_query("warm up")
        with runtime.sessions() as session:
            for collection in session.scalars(select(Collection)):
                runtime.indexes.ensure_lexical(runtime.indexes.get(collection))  # BM25 too: no slow first query
        state.ready = True
    except Exception:  # readiness stays false and says why in the log
        log.exception("warm-up failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or get_settings())
    jobs_manager = JobManager(runtime)
    follower = IndexFollower(runtime)
    keys = KeyChecker(load_keys(runtime.settings))
    state = AppState(
        runtime=runtime,
        jobs=jobs_manager,
        keys=keys,
        auth=Authenticator(keys, runtime),
        watcher=FolderWatcher(runtime, jobs_manager),
    )
    mcp = http_endpoint(runtime, state.keys)  # MCP over Streamable HTTP at /mcp (rag_service/mcp/)
    retention = audit.RetentionLoop(runtime)  # RAG_AUDIT_RETENTION_DAYS: at start, then about daily

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        audit.record_keys_in_force(runtime, state.keys.describe())
        retention.start()
        jobs_manager.start()
        state.watcher.start()
        threading.Thread(target=_warm_up, args=(state,), name="warm-up", daemon=True).start()
        follower.start()
        async with mcp.run():
            yield
        state.watcher.stop()
        jobs_manager.stop()
        follower.stop()
        retention.stop()

    app = FastAPI(
        title="rag-service",
        version="0.1.0",
        description="Answers questions from your own documents, with citations.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.rag = state
    app.state.metrics = Metrics(runtime, jobs_manager)
    app.middleware("http")(app.state.metrics.middleware)
    install_error_handlers(app)
    routes = (health, collections, documents, jobs, query, conversations, feedback, features, openai_compat)
    for module in (*routes, signin, access_routes, audit_routes):
        app.include_router(module.router)
    settings = runtime.settings
    app.add_middleware(BodyLimit, limit=int(settings.max_request_body_mb * 1024 * 1024), exempt=UPLOAD_PATH.fullmatch)
    generate_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            limits.apply_to_openapi(generate_openapi(), settings)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
    # Before the web UI's catch-all mount; behind the same middleware (body limit, metrics) as every route.
    app.router.routes.append(Route("/mcp", mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False))
    if WEB_DIR.is_dir():
        app.mount("/", WebFiles(directory=WEB_DIR, html=True), name="web")
    return app
