"""A folder to the files worth loading: ignore rules, hidden paths, binaries and size checks.

The same rules decide, file by file, what an upload may store (`skip_reason`): a file that ingest would pass
over is refused before it is written, so every stored file becomes a document.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.loaders import loader_for
from ingest.loaders.encoding import utf16_without_bom

ALWAYS_IGNORED_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".hg", ".svn"}
IGNORE_FILE = ".ragignore"
SNIFF_BYTES = 8192  # how much of a file the binary check reads


@dataclass
class WalkResult:
    files: list[str] = field(default_factory=list)  # relative paths, forward slashes, sorted
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)


class IgnoreRules:
    """The .ragignore files met so far: each applies to its own folder and below, as .gitignore files do."""

    def __init__(self) -> None:
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []  # (folder prefix, its rules)

    def add(self, folder_prefix: str, text: str) -> None:
        self._specs.append((folder_prefix, pathspec.GitIgnoreSpec.from_lines(text.splitlines())))

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        for folder, spec in self._specs:
            if rel.startswith(folder) and spec.match_file(rel[len(folder) :] + ("/" if is_dir else "")):
                return True
        return False

    def ignored_or_under_ignored(self, rel: str) -> bool:
        """For a path met without walking down to it (an upload): ignored itself or through a parent folder."""
        parts = rel.split("/")
        folders = ("/".join(parts[:n]) for n in range(1, len(parts)))
        return any(self.ignored(folder, True) for folder in folders) or self.ignored(rel)


def hidden(rel: str) -> bool:
    """Hidden files and folders, and the folders never descended into, are passed over without a word."""
    return any(part.startswith(".") or part in ALWAYS_IGNORED_DIRS for part in rel.split("/"))


def walk_folder(root: Path, max_file_bytes: int) -> WalkResult:
    """List the loadable files under `root`; what is passed over is listed with its reason.

    A `.ragignore` applies to the folder it is in and below, as .gitignore files do: a folder uploaded from a
    browser arrives one level down (`team-docs/.ragignore`) and its rules still hold.
    """
    root = root.resolve()
    rules = IgnoreRules()
    result = WalkResult()

    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        ignore_file = Path(dirpath) / IGNORE_FILE
        if ignore_file.is_file():
            rules.add(prefix, ignore_file.read_text(encoding="utf-8", errors="replace"))
        kept_dirs = []
        for name in sorted(dirnames):
            rel = prefix + name
            if name in ALWAYS_IGNORED_DIRS or name.startswith("."):
                continue  # never descended into, so not counted file by file
            if rules.ignored(rel, is_dir=True):
                result.skipped.append((rel + "/", "ignored by .ragignore"))
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = prefix + name
            reason = _skip_reason_on_disk(Path(dirpath) / name, rel, max_file_bytes, rules.ignored)
            if reason is None:
                result.files.append(rel)
            elif reason:
                result.skipped.append((rel, reason))
    result.files.sort()
    return result


def skip_reason(
    rel: str, size: int, head: bytes, max_file_bytes: int, ignored: Callable[[str, bool], bool]
) -> str | None:
    """None to keep the file; "" to pass over it silently (hidden); else why ingest would skip it.

    `head` is the file's first SNIFF_BYTES bytes, for the binary check."""
    name = rel.rsplit("/", 1)[-1]
    if name.startswith("."):
        return ""
    if ignored(rel, False):
        return "ignored by .ragignore"
    loader = loader_for(name)
    if loader is None:
        return "unsupported file type"
    if size > max_file_bytes:
        return f"larger than the size limit ({size} > {max_file_bytes} bytes)"
    if loader.is_text and looks_binary(head):
        return "binary content"
    return None


def _skip_reason_on_disk(path: Path, rel: str, max_file_bytes: int, ignored: Callable[[str, bool], bool]) -> str | None:
    if rel.rsplit("/", 1)[-1].startswith("."):
        return ""
    if path.is_symlink() and not path.exists():
        return "broken symlink"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot stat: {exc.strerror}"
    head = b""
    loader = loader_for(path.name)
    if loader is not None and loader.is_text and size <= max_file_bytes:
        try:
            with path.open("rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError:
            pass  # the loader reports the real error
    return skip_reason(rel, size, head, max_file_bytes, ignored)


def looks_binary(head: bytes) -> bool:
    """NUL bytes mean binary, unless the text is UTF-16 or UTF-32 (with a byte-order mark, or UTF-16 without)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    if b"\x00" not in head:
        return False
    return utf16_without_bom(head) is None
