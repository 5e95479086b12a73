"""EPUB: the book's chapters in reading order (the package's spine), each read by the HTML loader, cited as
"chapter N" under the chapter's own headings."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import replace

from ingest.loaders import html
from ingest.loaders.containers import open_zip
from ingest.types import LoadError, LoadOptions, Section

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
XHTML_TYPES = {"application/xhtml+xml", "text/html"}


def load(data: bytes, name: str, options: LoadOptions | None = None) -> list[Section]:
    options = options or LoadOptions()
    archive = open_zip(data, ".epub", options)
    try:
        container = ET.fromstring(archive.read("META-INF/container.xml"))
        rootfile = container.find(f".//{CONTAINER}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise LoadError("unreadable .epub: its container names no package file")
        package_path = rootfile.get("full-path", "")
        package = ET.fromstring(archive.read(package_path))
    except KeyError as exc:
        raise LoadError(f"unreadable .epub: missing {exc}") from exc
    except ET.ParseError as exc:
        raise LoadError(f"unreadable .epub: {exc}") from exc
    base = posixpath.dirname(package_path)
    manifest = {
        item.get("id"): (posixpath.normpath(posixpath.join(base, item.get("href", ""))), item.get("media-type"))
        for item in package.iter(f"{OPF}item")
    }
    sections: list[Section] = []
    chapter = 0
    for itemref in package.iter(f"{OPF}itemref"):
        href, media_type = manifest.get(itemref.get("idref"), ("", None))
        if media_type not in XHTML_TYPES:
            continue
        try:
            page = archive.read(href)
        except KeyError:
            continue  # a spine entry the archive lacks: the rest of the book is still readable
        options.check_time(f"reading chapter {chapter + 1}")
        chapter_sections = html.load(page, href)
        if chapter_sections:
            chapter += 1
            sections.extend(replace(section, page=chapter, start_line=None) for section in chapter_sections)
    if not sections:
        raise LoadError("EPUB has no readable chapters (DRM-protected books cannot be read)")
    return sections
