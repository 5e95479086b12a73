"""Offline OCR with RapidOCR: the PP-OCR detection and recognition models (Chinese and English) ship inside the
`rapidocr` wheel, so a scanned page is read with no download and no server.

The engine returns text lines with their boxes in no useful order; `reading_order` puts them in the order a
person reads them, keeping columns: a recursive XY cut that splits the page at its widest empty band, a gutter
between columns only when it is wider than a line is high (narrower gaps are the spaces between lines).
"""

from __future__ import annotations

import itertools
import statistics
import threading
from dataclasses import dataclass
from typing import Any

from ingest.types import LoadError

MIN_SIDE = 16  # smaller images hold no readable text
MIN_SCORE = 0.5
NOT_INSTALLED = "needs OCR, which is not installed: pip install 'rag-service[ocr]'"

_engine: Any = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise LoadError(f"{NOT_INSTALLED} (or set RAG_OCR=false)") from exc
        # No text-line angle classifier: on upright scans it turned whole lines upside down and read them as
        # noise (dense A4 page: character accuracy 0.93 with it, 0.999 without, at the same speed).
        _engine = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False})
    return _engine


def recognise(image: Any) -> str:
    """The text of a PIL image in reading order, lines joined by newlines and paragraphs by blank lines."""
    if min(image.size) < MIN_SIDE:
        return ""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    with _lock:  # one inference at a time: the ONNX sessions already use every core
        result = _get_engine()(image)
    if result is None or not getattr(result, "txts", None):
        return ""
    lines = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
        if score < MIN_SCORE or not text.strip():
            continue
        xs, ys = [float(point[0]) for point in box], [float(point[1]) for point in box]
        lines.append(Line(min(xs), min(ys), max(xs), max(ys), text.strip()))
    return join_lines(reading_order(lines))


def reading_order(lines: list[Line]) -> list[Line]:
    if len(lines) <= 1:
        return list(lines)
    line_height = statistics.median(line.height for line in lines) or 1.0
    across = _widest_gap([(line.x0, line.x1) for line in lines])
    down = _widest_gap([(line.y0, line.y1) for line in lines])
    if across is not None and across[0] >= line_height and (down is None or across[0] >= down[0]):
        cut = across[1]
        return reading_order([ln for ln in lines if ln.x1 <= cut]) + reading_order([ln for ln in lines if ln.x1 > cut])
    if down is not None:
        cut = down[1]
        return reading_order([ln for ln in lines if ln.y1 <= cut]) + reading_order([ln for ln in lines if ln.y1 > cut])
    # Lines that overlap both ways (a skewed scan, a table row): top to bottom, then left to right.
    return sorted(lines, key=lambda line: (round(line.y0 / line_height), line.x0))


def _widest_gap(spans: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(width, middle) of the widest band that no span covers, between the first and last span."""
    spans = sorted(spans)
    reach = spans[0][1]
    best: tuple[float, float] | None = None
    for start, end in spans[1:]:
        if start > reach and (best is None or start - reach > best[0]):
            best = (start - reach, (start + reach) / 2)
        reach = max(reach, end)
    return best


def join_lines(lines: list[Line]) -> str:
    if not lines:
        return ""
    line_height = statistics.median(line.height for line in lines) or 1.0
    parts = [lines[0].text]
    for before, line in itertools.pairwise(lines):
        overlap = min(before.y1, line.y1) - max(before.y0, line.y0)
        if overlap > 0.5 * min(before.height, line.height) and line.x0 >= before.x1:
            parts.append(" ")  # the next box on the same line
        elif line.y0 - before.y1 > 0.8 * line_height or line.y0 < before.y0 - line_height:
            parts.append("\n\n")  # a paragraph gap, or the top of the next column
        else:
            parts.append("\n")
        parts.append(line.text)
    return "".join(parts)
