"""EPUB: the book's chapters in reading order (the package's spine), each read by the HTML loader, cited as
"chapter N" under the chapter's own headings, or under its title in the book's table of contents where the
chapter has no heading markup (LibreOffice's export, for one, writes headings as styled paragraphs)."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace

from ingest.loaders import html
from ingest.loaders.containers import open_zip
from ingest.types import LoadError, LoadOptions, Section

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
XHTML = "{http://www.w3.org/1999/xhtml}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
XHTML_TYPES = {"application/xhtml+xml", "text/html"}


def load(data: bytes, name: str, options: LoadOptions) -> list[Section]:
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
    titles = _toc_titles(archive, package, base)
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
        chapter_sections = html.load(page, href, options)
        if chapter_sections:
            chapter += 1
            title = titles.get(href, "")
            sections.extend(
                replace(section, page=chapter, start_line=None, heading_path=section.heading_path or title)
                for section in chapter_sections
            )
    if not sections:
        raise LoadError("EPUB has no readable chapters (DRM-protected books cannot be read)")
    return sections


def _toc_titles(archive: zipfile.ZipFile, package: ET.Element, base: str) -> dict[str, str]:
    """Chapter file -> its first title in the table of contents: the EPUB 3 nav document, else the EPUB 2 NCX."""
    titles: dict[str, str] = {}
    for item in package.iter(f"{OPF}item"):
        is_nav = "nav" in (item.get("properties") or "").split()
        is_ncx = item.get("media-type") == "application/x-dtbncx+xml"
        if not (is_nav or is_ncx):
            continue
        href = posixpath.normpath(posixpath.join(base, item.get("href", "")))
        try:
            toc = ET.fromstring(archive.read(href))
        except (KeyError, ET.ParseError):
            continue
        folder = posixpath.dirname(href)
        if is_nav:
            links = [(a.get("href", ""), "".join(a.itertext())) for a in toc.iter(f"{XHTML}a")]
        else:
            links = [_ncx_link(point) for point in toc.iter(f"{NCX}navPoint")]
        for target, text in links:
            chapter = posixpath.normpath(posixpath.join(folder, target.split("#", 1)[0]))
            if target and text.strip():
                titles.setdefault(chapter, " ".join(text.split()))
        if titles:
            break
    return titles


def _ncx_link(point: ET.Element) -> tuple[str, str]:
    content, label = point.find(f"{NCX}content"), point.find(f"{NCX}navLabel")
    return (
        content.get("src", "") if content is not None else "",
        "".join(label.itertext()) if label is not None else "",
    )
