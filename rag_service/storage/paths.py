"""Relative paths of uploaded originals: one rule for what a client sends and for what a store lists back."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rag_service.errors import InvalidInputError

NAME_MAX_BYTES = 255  # one path component, as Linux filesystems allow
PATH_MAX_BYTES = 1024  # a whole relative path: leaves room for the data dir under the OS's 4096
DRIVE_PATH = re.compile(r"^[A-Za-z]:[/\\]")  # C:\x or C:/x; a:b.txt is a fine name on Linux


def safe_relative_path(name: str) -> PurePosixPath:
    """A client-supplied path made relative and checked; anything that could escape the folder is refused."""
    cleaned = name.replace("\\", "/").strip()
    if not cleaned:
        raise InvalidInputError("a file has an empty name")
    if cleaned.startswith("/") or DRIVE_PATH.match(name.strip()):
        raise InvalidInputError(f"absolute paths are not allowed: {shown(name)}")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInputError(f"paths with '..' are not allowed: {shown(name)}")
    if not parts or any("\x00" in p for p in parts):
        raise InvalidInputError(f"invalid path: {shown(name)}")
    if any(len(p.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES for p in parts):
        raise InvalidInputError(f"a file or folder name is longer than {NAME_MAX_BYTES} bytes: {shown(name)}")
    if len("/".join(parts).encode("utf-8", "surrogatepass")) > PATH_MAX_BYTES:
        raise InvalidInputError(f"path longer than {PATH_MAX_BYTES} bytes: {shown(name)}")
    return PurePosixPath(*parts)


def shown(name: str, limit: int = 80) -> str:
    """A client's name in a message: quoted, and cut short, so a 300-character name gives a readable error."""
    return repr(name if len(name) <= limit else name[: limit - 1] + "…")
