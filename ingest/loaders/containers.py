"""Zip containers (docx, pptx, xlsx, odt/odp/ods, epub) checked before a library opens them.

A zip bomb disguised as a spreadsheet, or an encrypted Office file (which is not a zip at all), fails here with
a reason a person can act on, before python-pptx or openpyxl expand anything. Python's zipfile never returns more
bytes than an entry declares, so the declared sizes bound what any later reader can expand.
"""

from __future__ import annotations

import io
import zipfile

from ingest.types import LoadError, LoadOptions

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of encrypted OOXML and of legacy .doc/.xls/.ppt


def open_zip(data: bytes, kind: str, options: LoadOptions) -> zipfile.ZipFile:
    """The file as a checked zip archive, or a LoadError that says what is wrong with it."""
    if data.startswith(OLE_MAGIC):
        raise LoadError(f"password-protected or legacy-format {kind}: save it without a password in the current format")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(f"unreadable {kind} (not a valid zip container): {exc}") from exc
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise LoadError(f"encrypted {kind}: it needs a password")
    expanded = sum(entry.file_size for entry in entries)
    if expanded > options.max_unpacked_bytes:
        raise LoadError(
            f"{kind} expands to {expanded // (1024 * 1024)} MB, over the limit of "
            f"{options.max_unpacked_bytes // (1024 * 1024)} MB (RAG_MAX_UNPACKED_MB)"
        )
    packed = sum(entry.compress_size for entry in entries)
    if expanded > 1024 * 1024 and expanded > packed * options.max_unpacked_ratio:
        raise LoadError(
            f"{kind} expands {expanded / max(packed, 1):.0f} times its size, over the limit of "
            f"{options.max_unpacked_ratio:g} (RAG_MAX_ARCHIVE_RATIO): a zip bomb?"
        )
    return archive


def checked(data: bytes, kind: str, options: LoadOptions) -> io.BytesIO:
    """The bytes again, for a library that opens the zip itself, once the container has passed the checks."""
    open_zip(data, kind, options).close()
    return io.BytesIO(data)
