"""The team's OpenID Connect provider, spoken to with Authlib: discovery from the issuer, the authorization code
flow with PKCE (S256), the code exchanged at the token endpoint, and the ID token checked before anyone is
signed in: signature (the provider's JWKS, fetched again once for an unknown key id), issuer, audience,
expiry and issue time (RAG_OIDC_CLOCK_SKEW_SECONDS of leeway), nonce, azp and at_hash (Authlib's `CodeIDToken`
over joserfc). Groups come from the ID token, or from the userinfo endpoint when the ID token lacks the claim.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from rag_service.errors import BackendUnavailableError, ServiceError
from rag_service.settings import Settings

DISCOVERY = "/.well-known/openid-configuration"
METADATA_TTL_SECONDS = 3600.0
HTTP_TIMEOUT_SECONDS = 10.0


class SignInError(ServiceError):
    """The provider's answer cannot sign anyone in (a bad ID token, a refused code, an error from the provider)."""

    code = "sign_in_failed"
    status = 401


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, after every check."""

    issuer: str
    subject: str
    email: str
    name: str
    groups: tuple[str, ...]
    id_token: str


class Provider:
    """One per app: the provider's metadata and keys are cached (an hour; keys again on an unknown key id)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _client(self, redirect_uri: str | None = None) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret or None,
            scope=self.settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_SECONDS,
            token_endpoint_auth_method="client_secret_basic" if self.settings.oidc_client_secret else "none",
        )

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
                data = self._get_json(self.issuer + DISCOVERY, "discovery")
                # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched from.
                if str(data.get("issuer", "")).rstrip("/") != self.issuer:
                    raise BackendUnavailableError(
                        f"the provider's discovery document names issuer {data.get('issuer')!r}, not "
                        f"{self.settings.oidc_issuer!r} (RAG_OIDC_ISSUER)"
                    )
                self._metadata, self._metadata_at, self._jwks = data, time.monotonic(), None
            return self._metadata

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendUnavailableError(f"the sign-in provider's {what} at {url} failed: {exc}") from exc

    def _keys(self, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        if self._jwks is None or refresh:
            self._jwks = self._get_json(metadata["jwks_uri"], "keys (jwks_uri)")
        return KeySet.import_key_set(self._jwks)

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
        )
        return url

    def sign_in(self, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> Identity:
        """The code for tokens, then the ID token checked; the person it names."""
        metadata = self.metadata()
        client = self._client(redirect_uri)
        try:
            token = client.fetch_token(
                metadata["token_endpoint"], code=code, code_verifier=code_verifier, grant_type="authorization_code"
            )
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"the sign-in provider's token endpoint failed: {exc}") from exc
        except Exception as exc:  # Authlib's OAuthError and its kin: the provider refused the code
            raise SignInError(f"the provider refused the sign-in code: {exc}") from exc
        if "id_token" not in token:
            raise SignInError("the provider sent no ID token (is 'openid' among RAG_OIDC_SCOPES?)")
        claims = self.check_id_token(token["id_token"], nonce, token.get("access_token"))
        groups_claim = self.settings.oidc_groups_claim
        groups = claims.get(groups_claim)
        userinfo: dict[str, Any] = {}
        if (groups is None or "email" not in claims) and metadata.get("userinfo_endpoint"):
            userinfo = self._userinfo(client, metadata["userinfo_endpoint"], claims["sub"])
            groups = groups if groups is not None else userinfo.get(groups_claim)
        return Identity(
            issuer=self.issuer,
            subject=str(claims["sub"]),
            email=str(claims.get("email") or userinfo.get("email") or ""),
            name=str(claims.get("name") or userinfo.get("name") or claims.get("preferred_username") or ""),
            groups=_as_groups(groups),
            id_token=token["id_token"],
        )

    def check_id_token(self, id_token: str, nonce: str, access_token: str | None = None) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce are right; else SignInError."""
        algorithms = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        try:
            try:
                decoded = jwt.decode(id_token, self._keys(), algorithms=algorithms)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                decoded = jwt.decode(id_token, self._keys(refresh=True), algorithms=algorithms)
            options = {
                "iss": {"essential": True, "values": [self.issuer, self.issuer + "/"]},
                "aud": {"essential": True, "value": self.settings.oidc_client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
            }
            params = {"nonce": nonce, "client_id": self.settings.oidc_client_id}
            if access_token:
                params["access_token"] = access_token
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=self.settings.oidc_clock_skew_seconds)
        except (JoseError, ValueError) as exc:
            raise SignInError(f"the ID token was refused: {_reason(exc)}") from exc
        return dict(claims)

    def _userinfo(self, client: OAuth2Client, url: str, subject: str) -> dict[str, Any]:
        try:
            response = client.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendUnavailableError(f"the sign-in provider's userinfo endpoint failed: {exc}") from exc
        # OpenID Connect Core §5.3.2: a userinfo answer for another subject must not be used.
        if str(data.get("sub")) != subject:
            raise SignInError("the provider's userinfo answer is for another subject")
        return data

    def logout_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """Where the browser ends the provider's own session (RP-initiated logout), if the provider has one."""
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri}
        params["client_id"] = self.settings.oidc_client_id
        return str(httpx.URL(endpoint, params=params))


def _as_groups(value: object) -> tuple[str, ...]:
    """A groups claim as a list of names: providers send a list, a single string, or nothing."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def _reason(exc: Exception) -> str:
    """joserfc's errors as a person reads them: which check failed."""
    name = getattr(exc, "error", "") or type(exc).__name__
    description = getattr(exc, "description", "") or str(exc)
    return f"{name}: {description}" if description and description != name else str(name)
