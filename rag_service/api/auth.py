"""API keys: `RAG_API_KEYS` (comma-separated) and/or a keys file (one per line), each
`[NAME=]KEY[:COLL1|COLL2][:ro][:admin]`.

- `NAME=` names the key in the audit trail (`alice=...`); an unnamed key is `key:` and the first 8 hex digits
  of its SHA-256 there, never the key itself.
- The segment after the key is always the collections (empty: every collection); the segments after it are
  flags: `ro` (read-only) and `admin` (may read the audit trail), in any order. `KEY:ro` alone is read-only on
  every collection, as it always was; `KEY:admin` alone is still a key limited to the collection `admin`:
  an admin key on every collection is `KEY::admin`.

With no keys configured, every request is allowed (as `local`, who may read the audit trail) and the server
binds to loopback only. With sign-in configured (RAG_OIDC_*), the web UI's requests carry a session cookie
instead (`Authenticator`), and a person's rights come from their groups (rag_service/access.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from rag_service import access
from rag_service.conversations import Viewer
from rag_service.errors import ConfigurationError, NotFoundError, ServiceError
from rag_service.runtime import Runtime
from rag_service.settings import Settings
from rag_service.signin import sessions
from rag_service.signin.sessions import SignedIn

# A key's name: letters, digits and . _ @ + - (an e-mail address fits), never ':' so that it cannot look like
# the `key:...` or `cli:...` actors the service makes up itself.
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
LOCAL_ACTOR = "local"
FLAGS = frozenset({"ro", "admin"})


class UnauthorizedError(ServiceError):
    code = "unauthorized"
    status = 401


class ForbiddenError(ServiceError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class ApiKey:
    key: str
    collections: frozenset[str] | None  # None: every collection
    read_only: bool
    name: str | None = None
    admin: bool = False

    @property
    def actor(self) -> str:
        """Who this key is in the audit trail: its name, or a short fingerprint that cannot be turned back into it."""
        return self.name or key_fingerprint(self.key)


def key_fingerprint(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's rights, a signed-in person's (from their groups), or everything when auth is off.
    `actor` names the caller in the audit trail; `admin` may read it and edit who may do what.

    A person's rights differ per collection: `writable` and `managed` (None: wherever they may read) say where
    they may write and where they may delete the collection; a key writes wherever it reads unless read-only."""

    collections: frozenset[str] | None = None
    read_only: bool = False
    actor: str = LOCAL_ACTOR
    admin: bool = True
    writable: frozenset[str] | None = None
    managed: frozenset[str] | None = None
    person_id: int | None = None  # a signed-in person: the owner of the conversations they start

    @property
    def viewer(self) -> Viewer:
        """Who looks at conversations (rag_service/conversations.py): the collections read, and the person."""
        return Viewer(self.collections, self.person_id)

    def require_admin(self) -> None:
        if self.admin:
            return
        if self.person_id is not None:
            raise ForbiddenError(
                "only admins may do this: an admin grant on every collection (*) or a group in RAG_OIDC_ADMIN_GROUPS"
            )
        raise ForbiddenError("this API key may not read the audit trail: it needs the admin flag")

    def can_see(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def can_write(self, collection: str) -> bool:
        return not self.read_only and (self.writable is None or collection in self.writable)

    def _refuse_write(self, collection: str, role: str = "write") -> ForbiddenError:
        if self.person_id is None:
            return ForbiddenError("this API key is read-only")
        return ForbiddenError(f"your groups do not give you {role} access to the collection {collection!r}")

    def require(self, collection: str | None = None, *, write: bool = False) -> None:
        """A collection this caller may not see is answered like one that does not exist (404), so that keys
        cannot learn which other collections exist; a read-only caller may see but not write (403)."""
        if collection is not None and not self.can_see(collection):
            raise NotFoundError(f"no collection named {collection!r}")
        if write and (self.read_only or (collection is not None and not self.can_write(collection))):
            raise self._refuse_write(collection or "")

    def require_manage(self, collection: str) -> None:
        """Deleting a collection: a key that may write it, or a person with the admin role on it."""
        self.require(collection, write=True)
        if self.managed is not None and collection not in self.managed:
            raise self._refuse_write(collection, "admin")

    def require_create(self, collection: str) -> None:
        if self.read_only:
            raise self._refuse_write(collection)
        if not self.can_see(collection) or not self.can_write(collection):
            if self.person_id is not None:
                raise self._refuse_write(collection)
            raise ForbiddenError("this API key may only create the collections it names")


def _split_name(entry: str) -> tuple[str | None, str]:
    """`name=KEY...` → (name, KEY...). A key that holds '=' itself stays whole when what precedes the first '='
    is no name, or no key follows it (base64 padding: `abc=`, `abc==:team`); any other key with '=' needs a name."""
    name, sep, rest = entry.partition("=")
    key = rest.split(":", 1)[0]
    if sep and KEY_NAME.fullmatch(name) and key and not key.startswith("="):
        return name, rest
    return None, entry


def parse_key(entry: str, position: int = 1) -> ApiKey:
    """One `[NAME=]KEY[:COLLECTIONS][:ro][:admin]` entry; `position` (1-based) names it in errors, which never
    quote the key."""
    name, spec = _split_name(entry.strip())
    parts = spec.split(":")
    key, rest = parts[0], parts[1:]
    if not key:
        raise ConfigurationError(f"API key entry {position}: the key is empty")
    if name == LOCAL_ACTOR:
        raise ConfigurationError(f"API key entry {position}: the name {LOCAL_ACTOR!r} is reserved")
    if rest == ["ro"]:  # `KEY:ro`: read-only on every collection, as before collections came first
        rest = ["", "ro"]
    flags = set(rest[1:])
    unknown = flags - FLAGS
    if unknown:
        raise ConfigurationError(
            f"API key entry {position}: unknown flag(s) {', '.join(sorted(unknown))}; after the collections "
            "only ro and admin may follow"
        )
    collections = frozenset(c for c in rest[0].split("|") if c) if rest and rest[0] else None
    return ApiKey(key=key, collections=collections, read_only="ro" in flags, name=name, admin="admin" in flags)


def load_keys(settings: Settings) -> list[ApiKey]:
    entries = [e for e in settings.api_keys.split(",") if e.strip()]
    if settings.api_keys_file is not None:
        lines = Path(settings.api_keys_file).read_text(encoding="utf-8").splitlines()
        entries += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [parse_key(entry, i) for i, entry in enumerate(entries, start=1)]


class KeyChecker:
    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def describe(self) -> list[dict[str, object]]:
        """Each key's actor and rights, never the key: what the audit trail records as the keys in force."""
        return [
            {
                "actor": key.actor,
                "collections": sorted(key.collections) if key.collections is not None else None,
                "read_only": key.read_only,
                "admin": key.admin,
            }
            for key in self.keys
        ]

    def principal(self, authorization: str | None) -> Principal:
        if not self.keys:
            return Principal()
        if not authorization or not authorization.lower().startswith("bearer "):
            raise UnauthorizedError("missing API key: send 'Authorization: Bearer <key>'")
        presented = authorization[7:].strip()
        for key in self.keys:
            if hmac.compare_digest(key.key.encode(), presented.encode()):
                return Principal(collections=key.collections, read_only=key.read_only, actor=key.actor, admin=key.admin)
        raise UnauthorizedError("invalid API key")


SESSION_COOKIE = "rag_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def person_principal(signed_in: SignedIn, rights: access.Rights) -> Principal:
    """A signed-in person as a caller: what their rights (rag_service/access.py) let them read, write, manage."""
    writable = rights.collections_with("write")
    return Principal(
        collections=rights.collections_with("read"),
        read_only=writable == frozenset(),
        actor=signed_in.actor,
        admin=rights.admin,
        writable=writable,
        managed=rights.collections_with("admin"),
        person_id=signed_in.person_id,
    )


class Authenticator:
    """Who a request comes from: an API key (`Authorization: Bearer`, for tools) or, where sign-in is configured,
    the session cookie (the web UI). A cookie's state-changing request must carry the session's CSRF token in
    `X-CSRF-Token`: SameSite=Lax keeps most cross-site posts out, the token keeps out the rest."""

    def __init__(self, keys: KeyChecker, runtime: Runtime) -> None:
        self.keys, self.runtime = keys, runtime

    @property
    def sign_in(self) -> bool:
        return self.runtime.settings.oidc_enabled

    @property
    def enabled(self) -> bool:
        return self.keys.enabled or self.sign_in

    def signed_in(self, cookie: str | None) -> tuple[SignedIn, access.Rights] | None:
        """The cookie's live session and the person's rights: their groups through the grants as they are now."""
        if not self.sign_in or not cookie:
            return None
        with self.runtime.sessions() as session:
            found = sessions.find(session, cookie)
            if found is None:
                return None
            rules = access.rules(session, self.runtime.settings.oidc_admin_group_names())
        return found, access.rights_for(found.groups, rules)

    def principal(
        self, authorization: str | None, cookie: str | None = None, method: str = "GET", csrf: str | None = None
    ) -> Principal:
        if authorization or not self.sign_in:
            if self.sign_in and not self.keys.enabled:
                raise UnauthorizedError("this server has no API keys: sign in with the web UI (/auth/login)")
            return self.keys.principal(authorization)
        if not cookie:
            raise UnauthorizedError("sign in first (/auth/login), or send an API key: 'Authorization: Bearer <key>'")
        found = self.signed_in(cookie)
        if found is None:
            raise UnauthorizedError("your sign-in has ended: sign in again (/auth/login)")
        signed_in, rights = found
        check_csrf(signed_in, method, csrf)
        return person_principal(signed_in, rights)


def check_csrf(signed_in: SignedIn, method: str, csrf: str | None) -> None:
    if method.upper() not in SAFE_METHODS and not hmac.compare_digest(
        (csrf or "").encode(), signed_in.csrf_token.encode()
    ):
        raise ForbiddenError(
            f"missing or wrong {CSRF_HEADER} header: a signed-in browser's changes must carry the token "
            "that GET /api/me gives"
        )
