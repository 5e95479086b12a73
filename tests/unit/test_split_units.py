"""Splitting: a code block cut between chunks is closed and reopened, and joins back into one block."""

from __future__ import annotations

import re

from ingest.split import split_sections
from ingest.types import Section
from rag_service.retrieval import join_overlapping

FENCE = re.compile(r"^\s*```", re.MULTILINE)


def words(text: str) -> int:
    return len(text.split())


def test_a_code_block_cut_between_chunks_stays_well_formed() -> None:
    code = "\n".join(f"step_{i} --with-option value_{i}" for i in range(40))
    text = f"Run the whole migration with these commands:\n\n```\n{code}\n```\n\nAfterwards the service restarts."
    chunks = split_sections([Section(text=text, heading_path="Migrate", start_line=1)], words, 60, 10, 256)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert len(FENCE.findall(chunk.text)) % 2 == 0, chunk.text
    cut = [
        i for i in range(len(chunks) - 1) if chunks[i].text.endswith("\n```") and chunks[i + 1].text.startswith("```\n")
    ]
    assert cut, [c.text for c in chunks]
    reopened = chunks[cut[0] + 1]
    assert reopened.start_line is not None and text.splitlines()[reopened.start_line - 1].startswith("step_")
    joined = chunks[0].text
    for chunk in chunks[1:]:
        joined = join_overlapping(joined, chunk.text)
    assert re.sub(r"\n+", "\n", joined) == re.sub(r"\n+", "\n", text)  # one block again, no line twice


def test_prose_and_whole_code_blocks_are_left_as_they_are() -> None:
    text = "Intro.\n\n```\nmake install\n```\n\nThe end."
    [chunk] = split_sections([Section(text=text, heading_path="", start_line=1)], words, 60, 10, 256)
    assert chunk.text == text
