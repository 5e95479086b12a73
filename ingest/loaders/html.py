"""HTML: the visible text only, as Markdown so that headings become the heading path."""

from __future__ import annotations

import html2text
from selectolax.lexbor import LexborHTMLParser

from ingest.loaders import markdown
from ingest.loaders.encoding import decode_text
from ingest.types import Section

# Page furniture that is not the document's content.
NOISE_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "button",
]


def load(data: bytes, name: str) -> list[Section]:
    tree = LexborHTMLParser(decode_text(data))
    for tag in NOISE_TAGS:
        for node in tree.css(tag):
            node.decompose()
    for node in tree.css('[role="navigation"], [aria-hidden="true"], .toc, #toc'):
        node.decompose()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    body = tree.body.html if tree.body else (tree.html or "")
    converter = html2text.HTML2Text()
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.body_width = 0
    text = converter.handle(body or "")
    sections = markdown.load(text.encode("utf-8"), name)
    # Lines of the converted text do not match the file's lines, so HTML sections carry headings only.
    return [Section(text=s.text, heading_path=s.heading_path or title) for s in sections]
