"""Every error is JSON `{error: {code, message, type}}` with its status; never a stack trace."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag_service.errors import ServiceError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
    504: "timeout",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "type": code}, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def documented_methods(app: FastAPI, path: str) -> list[str] | None:
    """The methods /openapi.json documents for a concrete path, or None for a path it does not describe."""
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "documented_methods", None)
    if table is None:
        table = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"), [m.upper() for m in item])
            for template, item in app.openapi().get("paths", {}).items()
        ]
        app.state.documented_methods = table
    for pattern, methods in table:
        if pattern.match(path):
            return sorted(methods)
    return None


def allowed_methods(request: Request) -> str:
    """`Allow` for a 405: what /openapi.json documents for the path (a path may have one route per method, so
    the route that refused the request knows only its own); elsewhere the web UI's files, which take GET."""
    methods = documented_methods(request.app, request.url.path)
    return ", ".join(methods) if methods is not None else "GET, HEAD"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, str(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return error_response(422, "validation_error", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal server error; see the server log")
