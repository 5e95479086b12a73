"""Bytes to text with the encoding detected, not assumed.

Order: a byte-order mark; UTF-8; UTF-16 without a mark (text with some ASCII in it has NUL bytes all on one
side of each pair); then charset-normalizer, which is right for CJK and Cyrillic but, on short Western text,
picks among single-byte Latin code pages almost at random (cp1250 turns "crème" into "crčme"). So when its
answer is a Latin single-byte code page, the Latin candidates are scored here instead: a decoding that puts
symbols inside words, mixes scripts in a word or makes a word mostly accented letters is less likely, and on a
tie Western European (cp1252, a superset of Latin-1's printable characters) wins.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from ingest.types import LoadError

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose mark is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Single-byte Latin code pages, in the order preferred on a tie.
LATIN_CANDIDATES = ("cp1252", "cp1250", "cp1257", "cp1254")
NON_LATIN_SCRIPTS = {"CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "CJK", "HIRAGANA", "KATAKANA", "HANGUL"}
IN_WORD_MARKS = {"’", "'", "·", "-", "‐"}  # l’été, l·l, well-known
_WORD = re.compile(r"\w+", re.UNICODE)


def decode_text(data: bytes) -> str:
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return data[: len(data) // 2 * 2].decode(utf16, errors="replace")
    best = from_bytes(data).best()
    if best is None:
        raise LoadError("undecodable text: no character encoding fits its bytes")
    text = str(best)
    if _mostly_latin(text):
        return _best_latin(data) or text
    return text


def utf16_without_bom(data: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" for UTF-16 text without a byte-order mark, else None.

    Text has ASCII in it (spaces, newlines, digits), and an ASCII character in UTF-16 is a NUL and its byte:
    so the NULs sit on one side of the pairs only, and the whole decodes to printable text."""
    sample = data[:65536]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    even_nuls = sample[0 : pairs * 2 : 2].count(0)
    odd_nuls = sample[1 : pairs * 2 : 2].count(0)
    if even_nuls == odd_nuls or min(even_nuls, odd_nuls) > 0 or max(even_nuls, odd_nuls) < 2:
        return None
    codec = "utf-16-le" if odd_nuls else "utf-16-be"
    try:
        text = sample[: pairs * 2].decode(codec)
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r\f")
    return codec if printable >= 0.98 * len(text) else None


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def _mostly_latin(text: str) -> bool:
    letters = [ch for ch in text if ord(ch) > 127 and ch.isalpha()]
    if not letters:
        return True
    latin = sum(1 for ch in letters if _script(ch) == "LATIN")
    return latin >= 0.5 * len(letters)


def _oddities(text: str) -> int:
    """How unlikely a decoding looks as natural text; 0 for clean text."""
    score = 0
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category in ("Co", "Cn"):
            score += 10
        elif (
            not ch.isalpha()
            and ch not in IN_WORD_MARKS
            and 0 < i < len(text) - 1
            and text[i - 1].isalpha()
            and text[i + 1].isalpha()
        ):
            score += 1  # a symbol inside a word: Za¿ó³æ
    for word in _WORD.findall(text):
        letters = [ch for ch in word if ch.isalpha()]
        scripts = {_script(ch) for ch in letters if ord(ch) > 127} | (
            {"LATIN"} if any(ord(c) < 128 for c in letters) else set()
        )
        if len(scripts) > 1 and not scripts <= {"LATIN"}:
            score += 1  # scripts mixed in one word
        accented = sum(1 for ch in letters if ord(ch) > 127)
        if len(letters) >= 3 and accented * 2 > len(letters) and not scripts & NON_LATIN_SCRIPTS:
            score += 1  # a Latin word mostly of accented letters: Ïðèâåò
    return score


def _best_latin(data: bytes) -> str | None:
    best: tuple[int, str] | None = None
    for codec in LATIN_CANDIDATES:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        score = _oddities(text)
        if best is None or score < best[0]:
            best = (score, text)
    return best[1] if best else None
