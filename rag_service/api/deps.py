"""What routes get from the app: the shared state and the caller's rights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from rag_service.api.auth import KeyChecker, Principal
from rag_service.jobs import JobManager
from rag_service.runtime import Runtime
from rag_service.watch import FolderWatcher


@dataclass
class AppState:
    runtime: Runtime
    jobs: JobManager
    keys: KeyChecker
    watcher: FolderWatcher
    ready: bool = False


def get_state(request: Request) -> AppState:
    return request.app.state.rag


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer API key, when the server has keys")] = None,
) -> Principal:
    return get_state(request).keys.principal(authorization)


State = Annotated[AppState, Depends(get_state)]
Caller = Annotated[Principal, Depends(get_principal)]
# Database ids: 32-bit on PostgreSQL, so larger numbers can name nothing.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
