"""Multipart parsing that keeps parts named only by RFC 2231 / RFC 5987 `filename*=` as files.

RFC 7578 asks senders to use plain `filename=`, and python-multipart ignores the extended form; but some
clients send it, and a part dropped without a word is a file lost. The extended name is decoded (charset,
percent-encoding) and given to the part as its plain filename.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from urllib.parse import unquote

from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartParser

_EXTENDED = re.compile(rb"""filename\*\s*=\s*"?([A-Za-z0-9!#$&+.^_`{}~-]*)'[A-Za-z0-9-]*'([^";\s]*)"?""", re.I)
_PLAIN = re.compile(rb"(^|;)\s*filename\s*=", re.I)


def plain_filename_disposition(disposition: bytes) -> bytes:
    """A Content-Disposition with only `filename*=charset''...` gets the decoded name as `filename="..."`."""
    if _PLAIN.search(disposition):
        return disposition
    match = _EXTENDED.search(disposition)
    if match is None:
        return disposition
    charset = match.group(1).decode("ascii") or "utf-8"
    try:
        name = unquote(match.group(2).decode("ascii"), encoding=charset, errors="strict")
    except (LookupError, UnicodeDecodeError):
        return disposition  # undecodable: left to the plain-name check, which refuses a nameless file
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    # Starlette decodes header bytes as latin-1 unless told otherwise; UTF-8 is what it tries first.
    return disposition + b'; filename="' + quoted.encode("utf-8") + b'"'


class UploadParser(MultiPartParser):
    def on_headers_finished(self) -> None:
        self._current_part.content_disposition = plain_filename_disposition(self._current_part.content_disposition)
        super().on_headers_finished()


async def parse_upload(
    headers: Headers, stream: AsyncGenerator[bytes, None], *, max_files: int, max_fields: int
) -> FormData:
    return await UploadParser(headers, stream, max_files=max_files, max_fields=max_fields).parse()
