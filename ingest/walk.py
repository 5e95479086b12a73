"""A folder to the files worth loading: ignore rules, hidden paths, binaries and size checks."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.loaders import loader_for

ALWAYS_IGNORED_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".hg", ".svn"}
IGNORE_FILE = ".ragignore"


@dataclass
class WalkResult:
    files: list[str] = field(default_factory=list)  # relative paths, forward slashes, sorted
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)


def _ignore_spec(folder: Path) -> pathspec.GitIgnoreSpec | None:
    ignore_file = folder / IGNORE_FILE
    if not ignore_file.is_file():
        return None
    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def walk_folder(root: Path, max_file_bytes: int) -> WalkResult:
    """List the loadable files under `root`; what is passed over is listed with its reason.

    A `.ragignore` applies to the folder it is in and below, as .gitignore files do: a folder uploaded from a
    browser arrives one level down (`team-docs/.ragignore`) and its rules still hold.
    """
    root = root.resolve()
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []  # (folder prefix, its rules)
    result = WalkResult()

    def ignored(rel: str, is_dir: bool) -> bool:
        for folder, spec in specs:
            if rel.startswith(folder) and spec.match_file(rel[len(folder) :] + ("/" if is_dir else "")):
                return True
        return False

    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        spec = _ignore_spec(Path(dirpath))
        if spec is not None:
            specs.append((prefix, spec))
        kept_dirs = []
        for name in sorted(dirnames):
            rel = prefix + name
            if name in ALWAYS_IGNORED_DIRS or name.startswith("."):
                continue  # never descended into, so not counted file by file
            if ignored(rel, is_dir=True):
                result.skipped.append((rel + "/", "ignored by .ragignore"))
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = prefix + name
            reason = _skip_reason(Path(dirpath) / name, name, rel, max_file_bytes, ignored)
            if reason is None:
                result.files.append(rel)
            elif reason:
                result.skipped.append((rel, reason))
    result.files.sort()
    return result


def _skip_reason(
    path: Path, name: str, rel: str, max_file_bytes: int, ignored: Callable[[str, bool], bool]
) -> str | None:
    """None to keep the file; "" to drop it silently (hidden); else why it was skipped."""
    if name.startswith("."):
        return ""
    if ignored(rel, False):
        return "ignored by .ragignore"
    if path.is_symlink() and not path.exists():
        return "broken symlink"
    loader = loader_for(name)
    if loader is None:
        return "unsupported file type"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot stat: {exc.strerror}"
    if size > max_file_bytes:
        return f"larger than the size limit ({size} > {max_file_bytes} bytes)"
    if loader.is_text and _looks_binary(path):
        return "binary content"
    return None


def _looks_binary(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False  # the loader reports the real error
    # UTF-16/32 text carries NULs too, but starts with a byte-order mark.
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    return b"\x00" in head
