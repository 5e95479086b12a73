"""Page chrome never reaches a chunk: real generator output that Debian ships (Sphinx: python3.11-doc; DocBook /
Publican: debian-handbook), and each generic rule on a small page of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.loaders import html
from ingest.split import split_sections

PYTHON_DOC = Path("/usr/share/doc/python3.11/html")
HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")


def chunks_of(path: Path) -> list[str]:
    sections = html.load(path.read_bytes(), path.name)
    count = lambda text: len(text.split())  # noqa: E731
    return [f"{c.heading_path}\n{c.text}" for c in split_sections(sections, count, 150, 20, 250)]


def require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: `make system-deps` installs python3.11-doc and debian-handbook")
    return path


@pytest.mark.parametrize("page", ["library/json.html", "library/sqlite3.html", "tutorial/venv.html"])
def test_sphinx_chrome_is_gone_and_the_body_stays(page: str) -> None:
    chunks = chunks_of(require(PYTHON_DOC / page))
    text = "\n".join(chunks)
    for chrome in ["Previous topic", "Next topic", "This Page", "Report a Bug", "Show Source", "Quick search",
                   "¶", "Python Software Foundation", "modules |", "index |", "Theme", "Navigation"]:  # fmt: skip
        assert all(chrome not in chunk for chunk in chunks), chrome
    assert len(text) > 2000


def test_sphinx_code_blocks_tables_and_admonitions() -> None:
    text = "\n".join(chunks_of(require(PYTHON_DOC / "library/json.html")))
    # Highlighted code (a span per token) comes out whole, fenced, exactly as printed.
    assert "```\n>>> import json\n>>> json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])" in text
    # The JSON ↔ Python conversion table stays a table.
    assert re.search(r"JSON\s*\|\s*Python\s*\n-+\|-+", text)
    # "Warning" is its own line, not glued into the sentence after it.
    assert "\nWarning\n\nBe cautious when parsing JSON data from untrusted sources." in text
    assert "--sort-keys" in text and "\\--" not in text


def test_docbook_chrome_is_gone_and_sidebar_titles_stand_alone() -> None:
    chunks = chunks_of(require(HANDBOOK / "network-services.html"))
    text = "\n".join(chunks)
    for chrome in ["Download the ebook", "Product Site", "Documentation Site"]:
        assert all(chrome not in chunk for chunk in chunks), chrome
    for word in ["Prev", "Up", "Home", "Next"]:
        assert all(not re.search(rf"^\s*{word}\s*$", chunk, re.M) for chunk in chunks), word
    assert "\nQUICK LOOK Regexp tables\n\nThe file `/usr/share/doc/postfix/examples/header_checks`" in text
    assert "smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd" in text


def page(body: str, head: str = "<title>T</title>") -> bytes:
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


BODY = "<p>" + "The real content of the page explains how the backup schedule works in detail. " * 4 + "</p>"


def test_main_content_container_is_the_only_part_read() -> None:
    data = page(f"<div class='menu'><p>Site menu words</p></div><main><h1>Backups</h1>{BODY}</main>")
    _, text = html.to_markdown(data)
    assert "Site menu words" not in text and "backup schedule works" in text and text.startswith("# Backups")


def test_link_dense_blocks_urls_breadcrumbs_cookies_and_edit_links_are_dropped() -> None:
    menu = "<ul>" + "".join(f"<li><a href='/{i}'>Section {i}</a></li>" for i in range(6)) + "</ul>"
    data = page(
        "<div class='breadcrumbs'>Home » Docs » Backups</div>"
        "<div id='cookie-banner'>We use cookies to improve your experience.</div>"
        f"{menu}<h1>Backups</h1>{BODY}"
        "<p>https://example.com/backups/schedule</p>"
        "<p><a class='edit-this-page' href='/edit'>Edit this page</a></p>"
        "<div class='md-footer'><a href='/prev'>Previous</a> <a href='/next'>Next</a></div>"
    )
    _, text = html.to_markdown(data)
    for chrome in ["Home » Docs", "cookies", "Section 3", "https://example.com", "Edit this page", "Previous"]:
        assert chrome not in text, chrome
    assert "backup schedule works" in text


def test_lists_with_some_links_are_content() -> None:
    data = page(
        f"<h1>Steps</h1>{BODY}<ol><li>Stop the service with the stop command before you begin.</li>"
        "<li>Copy the data directory, see <a href='#x'>copying</a>, to the new disk.</li>"
        "<li>Start the service again and check the <a href='#y'>log</a> for errors.</li></ol>"
    )
    _, text = html.to_markdown(data)
    assert "Copy the data directory, see copying, to the new disk." in text
