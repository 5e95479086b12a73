"""What routes get from the app: the shared state and the caller's rights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, Header, Path, Request

from rag_service.api.auth import SESSION_COOKIE, Authenticator, KeyChecker, Principal
from rag_service.jobs import JobManager
from rag_service.runtime import Runtime
from rag_service.watch import FolderWatcher


@dataclass
class AppState:
    runtime: Runtime
    jobs: JobManager
    keys: KeyChecker
    auth: Authenticator
    watcher: FolderWatcher
    ready: bool = False


def get_state(request: Request) -> AppState:
    return request.app.state.rag


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API key, when the server has keys")] = None,
    rag_session: Annotated[
        str | None, Cookie(alias=SESSION_COOKIE, description="The web UI's sign-in, where sign-in is configured")
    ] = None,
    x_csrf_token: Annotated[
        str | None, Header(description="With the sign-in cookie, on every change: the token GET /api/me gives")
    ] = None,
) -> Principal:
    return get_state(request).auth.principal(authorization, rag_session, request.method, x_csrf_token)


State = Annotated[AppState, Depends(get_state)]
Caller = Annotated[Principal, Depends(get_principal)]
# Database ids: 32-bit on PostgreSQL, so larger numbers can name nothing.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
