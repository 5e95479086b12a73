"""Upload path checks."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "name", ["../x.md", "a/../../x.md", "/etc/x", "C:\\x.md", "C:/x.md", "..\\x.md", "", "a/\x00.md"]
)
def test_upload_paths_that_could_escape_are_refused(name: str) -> None:
    from rag_service.errors import InvalidInputError
    from rag_service.uploads import safe_relative_path

    with pytest.raises(InvalidInputError):
        safe_relative_path(name)


def test_upload_paths_are_normalised() -> None:
    from rag_service.uploads import safe_relative_path

    assert safe_relative_path("docs\\setup/./linux.md").as_posix() == "docs/setup/linux.md"


def test_names_linux_can_hold_are_kept_and_others_refused_readably() -> None:
    from rag_service.errors import InvalidInputError
    from rag_service.uploads import safe_relative_path

    assert safe_relative_path("a:b.txt").as_posix() == "a:b.txt"  # a drive letter needs a slash after it
    assert safe_relative_path("notes/10:30 meeting.md").as_posix() == "notes/10:30 meeting.md"
    with pytest.raises(InvalidInputError, match="longer than 255 bytes") as refused:
        safe_relative_path("n" * 300 + ".md")
    assert len(str(refused.value)) < 200  # the name is cut short in the message
    with pytest.raises(InvalidInputError, match="longer than 1024 bytes"):
        safe_relative_path("/".join(["folder"] * 200) + "/x.md")
    with pytest.raises(InvalidInputError, match="longer than 255 bytes"):
        safe_relative_path("数" * 90 + ".md")  # 270 bytes in UTF-8, though 93 characters


def test_rfc2231_filename_becomes_the_plain_name() -> None:
    from rag_service.api.multipart import plain_filename_disposition

    extended = b"form-data; name=\"files\"; filename*=UTF-8''caf%C3%A9%2Fnotes.md"
    assert plain_filename_disposition(extended).endswith(b'; filename="caf\xc3\xa9/notes.md"')
    plain = b'form-data; name="files"; filename="a.md"; filename*=UTF-8\'\'b.md'
    assert plain_filename_disposition(plain) == plain  # a plain name wins, as RFC 7578 asks
