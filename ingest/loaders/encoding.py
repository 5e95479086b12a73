"""Bytes to text with the encoding detected, not assumed."""

from __future__ import annotations

from charset_normalizer import from_bytes

from ingest.types import LoadError


def decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise LoadError("undecodable text: no character encoding fits its bytes")
    return str(best)
