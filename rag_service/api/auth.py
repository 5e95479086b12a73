"""API keys: `RAG_API_KEYS` (comma-separated) and/or a keys file (one per line), each `KEY[:COLL1|COLL2][:ro]`.

With no keys configured, every request is allowed and the server binds to loopback only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from rag_service.errors import NotFoundError, ServiceError
from rag_service.settings import Settings


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


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's rights, or everything when auth is off."""

    collections: frozenset[str] | None = None
    read_only: bool = False

    def can_see(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def require(self, collection: str | None = None, *, write: bool = False) -> None:
        """A collection this key may not see is answered like one that does not exist (404), so that keys
        cannot learn which other collections exist; a read-only key may see but not write (403)."""
        if collection is not None and not self.can_see(collection):
            raise NotFoundError(f"no collection named {collection!r}")
        if write and self.read_only:
            raise ForbiddenError("this API key is read-only")

    def require_create(self, collection: str) -> None:
        if self.read_only:
            raise ForbiddenError("this API key is read-only")
        if not self.can_see(collection):
            raise ForbiddenError("this API key may only create the collections it names")


def parse_key(entry: str) -> ApiKey:
    parts = entry.strip().split(":")
    key, rest = parts[0], parts[1:]
    read_only = bool(rest) and rest[-1] == "ro"
    if read_only:
        rest = rest[:-1]
    collections = frozenset(c for c in rest[0].split("|") if c) if rest and rest[0] else None
    return ApiKey(key=key, collections=collections, read_only=read_only)


def load_keys(settings: Settings) -> list[ApiKey]:
    entries = [e for e in settings.api_keys.split(",") if e.strip()]
    if settings.api_keys_file is not None:
        lines = Path(settings.api_keys_file).read_text(encoding="utf-8").splitlines()
        entries += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [parse_key(entry) for entry in entries]


class KeyChecker:
    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def principal(self, authorization: str | None) -> Principal:
        if not self.keys:
            return Principal()
        if not authorization or not authorization.lower().startswith("bearer "):
            raise UnauthorizedError("missing API key: send 'Authorization: Bearer <key>'")
        presented = authorization[7:].strip()
        for key in self.keys:
            if hmac.compare_digest(key.key.encode(), presented.encode()):
                return Principal(collections=key.collections, read_only=key.read_only)
        raise UnauthorizedError("invalid API key")
