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
