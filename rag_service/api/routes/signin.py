"""Sign-in with the team's OpenID provider (on with RAG_OIDC_ISSUER and RAG_OIDC_CLIENT_ID): the browser's
round trip to the provider, signing out, and who the caller is (`GET /api/me`, which also gives the CSRF token
the web UI sends with every change)."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Cookie, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from rag_service import audit
from rag_service.api.auth import SESSION_COOKIE, UnauthorizedError, check_csrf
from rag_service.api.deps import State
from rag_service.api.schemas import LogoutOut, Me
from rag_service.errors import NotFoundError, ServiceError
from rag_service.signin import sessions
from rag_service.signin.provider import Provider

router = APIRouter(tags=["sign-in"])


def _provider(state: State) -> Provider:
    if not state.auth.sign_in:
        raise NotFoundError("sign-in is not configured on this server (RAG_OIDC_ISSUER, RAG_OIDC_CLIENT_ID)")
    return state.runtime.oidc


def _base_url(state: State, request: Request) -> str:
    return (state.runtime.settings.public_url or str(request.base_url)).rstrip("/")


def _secure(state: State, request: Request) -> bool:
    return _base_url(state, request).startswith("https://")


def _failure_page(message: str, status: int) -> HTMLResponse:
    """A browser arrives here from the provider: it gets a page, not JSON."""
    body = (
        "<!doctype html><meta charset=utf-8><title>Sign-in failed</title>"
        "<body style='font-family:system-ui;max-width:40em;margin:4em auto'>"
        f"<h1>Sign-in failed</h1><p id=reason>{html.escape(message)}</p><p><a href='/auth/login'>Sign in again</a>"
        " · <a href='/'>Back to rag-service</a></p>"
    )
    return HTMLResponse(body, status_code=status)


@router.get("/auth/login", response_class=RedirectResponse, status_code=302)
def login(
    request: Request,
    state: State,
    next_path: Annotated[str | None, Query(alias="next", description="Where to land afterwards (a path here).")] = None,
) -> RedirectResponse:
    """Start signing in: the browser goes to the provider with a fresh state, nonce and PKCE challenge."""
    provider = _provider(state)
    redirect_uri = _base_url(state, request) + "/auth/callback"
    with state.runtime.sessions() as session:
        url = sessions.begin(session, provider, redirect_uri, next_path)
    return RedirectResponse(url, status_code=302)


@router.get("/auth/callback", response_class=RedirectResponse, status_code=303)
def callback(
    request: Request,
    state: State,
    code: str | None = None,
    state_param: Annotated[str | None, Query(alias="state")] = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The provider sends the browser back here: the state is taken (good once), the code exchanged, the ID token
    checked, and a session cookie set."""
    provider = _provider(state)
    try:
        if error:  # the provider's refusal (the person denied it, or may not use this app) comes back without a code
            raise UnauthorizedError(f"the provider said {error}: {error_description or 'no reason given'}")
        with state.runtime.sessions() as session:
            attempt = sessions.claim_attempt(session, state_param or "")
        if not code:
            raise UnauthorizedError("the provider sent no authorization code")
        identity = provider.sign_in(code, attempt.redirect_uri, attempt.code_verifier, attempt.nonce)
        with state.runtime.sessions() as session:
            person = sessions.remember(session, identity)
            token, signed_in = sessions.start_session(
                session, person, identity.id_token, state.runtime.settings.session_hours
            )
    except ServiceError as exc:
        audit.record(state.runtime, "anonymous", "sign_in.failed", details={"reason": str(exc)})
        return _failure_page(str(exc), exc.status)
    audit.record(state.runtime, signed_in.actor, "sign_in", details={"groups": list(signed_in.groups)})
    response = RedirectResponse(attempt.return_to, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(state.runtime.settings.session_hours * 3600),
        path="/",
        httponly=True,
        secure=_secure(state, request),
        samesite="lax",
    )
    return response


@router.post("/auth/logout", response_model=LogoutOut)
def logout(
    request: Request,
    response: Response,
    state: State,
    rag_session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> dict:
    """Sign out here (the session is deleted) and, where the provider has an end-session endpoint, the URL that
    signs out there too. A live session's CSRF token is checked first, so a cross-site post ends nothing; a
    session that already ended only has its cookie cleared."""
    logout_url = None
    found = state.auth.signed_in(rag_session)
    if found is not None and rag_session:
        signed_in, _ = found
        check_csrf(signed_in, request.method, x_csrf_token)
        with state.runtime.sessions() as session:
            id_token = sessions.end(session, rag_session)
        if id_token:
            logout_url = _provider(state).logout_url(id_token, _base_url(state, request) + "/")
        audit.record(state.runtime, signed_in.actor, "sign_out")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=_secure(state, request), samesite="lax")
    return {"logout_url": logout_url}


@router.get("/api/me", response_model=Me)
def me(
    request: Request,
    state: State,
    rag_session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> dict:
    """Who this request comes from, and what they may do: the signed-in person (with the CSRF token for their
    changes), a key's name, `local` where nobody needs to sign in; or nobody yet (`signed_in: false`)."""
    found = state.auth.signed_in(rag_session)
    if found is not None:
        signed_in, rights = found
        return {
            "signed_in": True,
            "sign_in": True,
            "actor": signed_in.actor,
            "email": signed_in.email,
            "name": signed_in.name,
            "groups": list(signed_in.groups),
            "roles": [{"collection": c, "role": r} for c, r in sorted(rights.roles.items())],
            "admin": rights.admin,
            "csrf_token": signed_in.csrf_token,
        }
    try:
        principal = state.auth.principal(request.headers.get("authorization"))
    except UnauthorizedError:
        return {"signed_in": False, "sign_in": state.auth.sign_in, "actor": None}
    return {"signed_in": False, "sign_in": state.auth.sign_in, "actor": principal.actor, "admin": principal.admin}
