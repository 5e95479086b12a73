"""The FastAPI application: routers, error handlers, metrics, the job worker, the folder watcher, the web UI."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from rag_service.api.auth import KeyChecker, load_keys
from rag_service.api.deps import AppState
from rag_service.api.errors import install_error_handlers
from rag_service.api.metrics import Metrics
from rag_service.api.routes import collections, documents, health, jobs, openai_compat, query
from rag_service.api.schemas import ErrorBody
from rag_service.db.models import Collection
from rag_service.jobs import JobManager
from rag_service.runtime import Runtime
from rag_service.settings import Settings, get_settings
from rag_service.watch import FolderWatcher

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Every route may answer with these; all share the one error body.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Bad input",
        401: "Missing or invalid API key",
        403: "The API key may not do this",
        404: "Unknown collection, job, document or chunk",
        409: "Conflict with the current state",
        413: "Too large",
        422: "Request does not match the schema",
        503: "An answer backend or the database is unavailable",
    }.items()
}


def _warm_up(state: AppState) -> None:
    """Load the default embedder and every collection's index before /readyz says ready."""
    runtime = state.runtime
    try:
        runtime.embedders.get(runtime.settings.embedder).embed_query("warm up")
        with runtime.sessions() as session:
            for collection in session.scalars(select(Collection)):
                runtime.indexes.get(collection)
        state.ready = True
    except Exception:  # readiness stays false and says why in the log
        log.exception("warm-up failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or get_settings())
    jobs_manager = JobManager(runtime)
    state = AppState(
        runtime=runtime,
        jobs=jobs_manager,
        keys=KeyChecker(load_keys(runtime.settings)),
        watcher=FolderWatcher(runtime, jobs_manager),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        jobs_manager.start()
        state.watcher.start()
        threading.Thread(target=_warm_up, args=(state,), name="warm-up", daemon=True).start()
        yield
        state.watcher.stop()
        jobs_manager.stop()

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
    for module in (health, collections, documents, jobs, query, openai_compat):
        app.include_router(module.router)
    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
