"""A retrieved passage (`Hit`) and how its place in a file is named: what retrieval returns, rerankers reorder,
answerers quote and citations point to. It imports nothing of the service, so every layer can use it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingest.loaders import page_unit


def describe_location(path: str, page: int | None, start_line: int | None, end_line: int | None) -> str:
    """`guide.pdf p.3`, `deck.pptx slide 7`, `budget.xlsx sheet 2`, `docs/setup.md:12-20`, or the path alone."""
    if page is not None:
        unit = page_unit(path)
        return f"{path} p.{page}" if unit == "page" else f"{path} {unit} {page}"
    if start_line is not None:
        return f"{path}:{start_line}-{end_line}"
    return path


@dataclass
class Hit:
    rank: int
    score: float
    path: str
    text: str
    chunk_id: int
    document_id: int
    page: int | None = None
    start_line: int | None = None
    end_line: int | None = None
    heading_path: str = ""
    dense_score: float | None = None
    lexical_score: float | None = None
    chunk_ids: list[int] = field(default_factory=list)  # every chunk merged into this passage
    ordinal: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("ordinal")
        if self.page is None:
            data.pop("page")
        else:
            data["page_unit"] = page_unit(self.path)
            data.pop("start_line")
            data.pop("end_line")
        return data

    def location(self) -> str:
        return describe_location(self.path, self.page, self.start_line, self.end_line)
