"""The loader registry: a file's extension picks the function that turns its bytes into sections.

Code, JSON, YAML and TOML are read as plain text with line numbers; code is then cut at its language's
boundaries by the splitter. Images, and PDF pages without a text layer, are read by OCR (ingest/ocr.py).

A new format is one module with a `load(data, name, options) -> list[Section]` function plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest.loaders import (
    docx,
    epub,
    html,
    image,
    legacy_office,
    markdown,
    opendocument,
    pdf,
    plaintext,
    pptx,
    spreadsheet,
    tabular,
)
from ingest.types import LoadOptions, Section

LoadFunction = Callable[[bytes, str, LoadOptions], list[Section]]


@dataclass(frozen=True)
class LoaderSpec:
    type: str  # recorded on the document row
    load: LoadFunction
    is_text: bool = True  # a text format: a NUL byte in it means a binary file in disguise
    language: str | None = None  # LangChain splitter language for code
    page_unit: str = "page"  # what a section's number counts, for citations: page, slide, sheet, chapter


def _code(language: str | None) -> LoaderSpec:
    return LoaderSpec("code", plaintext.load, language=language)


LOADERS: dict[str, LoaderSpec] = {
    ".md": LoaderSpec("markdown", markdown.load),
    ".markdown": LoaderSpec("markdown", markdown.load),
    ".txt": LoaderSpec("text", plaintext.load_with_underlined_headings),
    ".text": LoaderSpec("text", plaintext.load),
    ".rst": LoaderSpec("rst", plaintext.load_with_underlined_headings),
    ".adoc": LoaderSpec("asciidoc", plaintext.load_asciidoc),
    ".asciidoc": LoaderSpec("asciidoc", plaintext.load_asciidoc),
    ".html": LoaderSpec("html", html.load),
    ".htm": LoaderSpec("html", html.load),
    ".pdf": LoaderSpec("pdf", pdf.load, is_text=False),
    ".docx": LoaderSpec("docx", docx.load, is_text=False),
    ".pptx": LoaderSpec("pptx", pptx.load, is_text=False, page_unit="slide"),
    ".xlsx": LoaderSpec("xlsx", spreadsheet.load, is_text=False, page_unit="sheet"),
    ".xlsm": LoaderSpec("xlsx", spreadsheet.load, is_text=False, page_unit="sheet"),
    ".odt": LoaderSpec("odt", opendocument.load, is_text=False),
    ".odp": LoaderSpec("odp", opendocument.load, is_text=False, page_unit="slide"),
    ".ods": LoaderSpec("ods", opendocument.load, is_text=False, page_unit="sheet"),
    ".epub": LoaderSpec("epub", epub.load, is_text=False, page_unit="chapter"),
    ".doc": LoaderSpec("doc", legacy_office.load, is_text=False),
    ".ppt": LoaderSpec("ppt", legacy_office.load, is_text=False, page_unit="slide"),
    ".xls": LoaderSpec("xls", legacy_office.load, is_text=False, page_unit="sheet"),
    ".png": LoaderSpec("image", image.load, is_text=False),
    ".jpg": LoaderSpec("image", image.load, is_text=False),
    ".jpeg": LoaderSpec("image", image.load, is_text=False),
    ".tif": LoaderSpec("image", image.load, is_text=False),
    ".tiff": LoaderSpec("image", image.load, is_text=False),
    ".webp": LoaderSpec("image", image.load, is_text=False),
    ".csv": LoaderSpec("csv", tabular.load),
    ".tsv": LoaderSpec("csv", tabular.load),
    ".json": LoaderSpec("json", plaintext.load),
    ".yaml": LoaderSpec("yaml", plaintext.load),
    ".yml": LoaderSpec("yaml", plaintext.load),
    ".toml": LoaderSpec("toml", plaintext.load),
    ".py": _code("python"),
    ".js": _code("js"),
    ".mjs": _code("js"),
    ".jsx": _code("js"),
    ".ts": _code("ts"),
    ".tsx": _code("ts"),
    ".go": _code("go"),
    ".java": _code("java"),
    ".kt": _code("kotlin"),
    ".rs": _code("rust"),
    ".c": _code("c"),
    ".h": _code("c"),
    ".cpp": _code("cpp"),
    ".cc": _code("cpp"),
    ".hpp": _code("cpp"),
    ".cs": _code("csharp"),
    ".rb": _code("ruby"),
    ".php": _code("php"),
    ".scala": _code("scala"),
    ".swift": _code("swift"),
    ".lua": _code("lua"),
    ".sh": _code(None),
    ".bash": _code(None),
    ".sql": _code(None),
    ".ini": _code(None),
    ".cfg": _code(None),
}


def loader_for(name: str) -> LoaderSpec | None:
    return LOADERS.get(PurePosixPath(name).suffix.lower())


def page_unit(name: str) -> str:
    """What a page number of this file counts: "slide" for a presentation, "sheet" for a spreadsheet, ..."""
    spec = loader_for(name)
    return spec.page_unit if spec is not None else "page"
