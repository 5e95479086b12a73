"""Ingest end to end on real SQLite and PostgreSQL, real FAISS and the real bundled MiniLM model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from rag_service.db.models import Chunk, Document, EmbeddingCache
from rag_service.indexing import ingest_folder
from rag_service.retrieval import SearchOptions, retrieve
from rag_service.runtime import Runtime
from rag_service.stores.vector_index import VectorIndex
from tests.corpus import FAILED, INDEXED, MARKDOWN, SKIPPED


def chunk_ids(runtime: Runtime, collection: str) -> set[int]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Chunk.id).join(Document).where(Document.collection.has(name=collection))).all()
    return set(rows)


def assert_consistent(runtime: Runtime, collection: str) -> None:
    """The saved FAISS file holds exactly the database's chunk ids for the collection."""
    from rag_service.collections import find_collection

    with runtime.sessions() as session:
        collection_row = find_collection(session, collection)
    saved = VectorIndex.load(runtime.indexes.path_for(collection_row.id), 384)
    assert set(saved.ids().tolist()) == chunk_ids(runtime, collection)


def search(runtime: Runtime, collection: str, query: str, **options: object):  # type: ignore[no-untyped-def]
    return retrieve(runtime, collection, query, SearchOptions.from_settings(runtime, **options))


def test_first_ingest_counts_types_and_failures(runtime: Runtime, corpus: Path) -> None:
    summary = ingest_folder(runtime, "team", corpus)
    assert summary.status == "done"
    assert summary.added == len(INDEXED)
    assert {f["path"] for f in summary.failed} == FAILED
    assert "broken.pdf" in {f["path"] for f in summary.failed}
    assert all(f["reason"] for f in summary.failed)
    assert {s["path"] for s in summary.skipped} == SKIPPED
    reasons = {s["path"]: s["reason"] for s in summary.skipped}
    assert reasons["design.psd"] == "unsupported file type"
    assert reasons["disguised.txt"] == "binary content"
    assert summary.chunks_embedded > 0
    with runtime.sessions() as session:
        documents = {d.path: d for d in session.scalars(select(Document))}
    assert set(documents) == INDEXED | FAILED
    assert documents["broken.pdf"].status == "failed" and documents["broken.pdf"].error
    assert documents["policy.pdf"].type == "pdf" and documents["src/billing.py"].type == "code"
    assert all(len(d.sha256 or "") == 64 for d in documents.values())
    assert_consistent(runtime, "team")


def test_chunks_carry_pages_lines_and_headings(runtime: Runtime, corpus: Path) -> None:
    ingest_folder(runtime, "team", corpus)
    with runtime.sessions() as session:
        rows = session.execute(select(Chunk, Document.path).join(Document)).all()
    by_path: dict[str, list[Chunk]] = {}
    for chunk, path in rows:
        by_path.setdefault(path, []).append(chunk)
    assert sorted(c.page for c in by_path["policy.pdf"]) == [1, 2, 3]
    rotate = next(c for c in by_path["handbook.md"] if "rotate the API keys" in c.text)
    assert rotate.heading_path == "Operations handbook > Rotate API keys"
    lines = MARKDOWN.splitlines()
    assert "atlas keys rotate" in lines[rotate.start_line - 1]
    assert rotate.end_line >= rotate.start_line
    linux = next(c for c in by_path["handbook.md"] if "install.sh" in c.text)
    assert linux.heading_path == "Operations handbook > Install > Linux"
    assert next(c for c in by_path["guides/backup.adoc"] if "02:30" in c.text).heading_path == "Backup guide > Schedule"
    assert by_path["guides/deep/glossary.txt"][0].heading_path == "Team glossary > Blue deploy"
    assert "café" in by_path["cafe.txt"][0].text  # Latin-1 detected, not mangled
    html_text = " ".join(c.text for c in by_path["release.html"])
    assert "zero-downtime" in html_text
    assert "NAVIGATIONNOISE" not in html_text and "FOOTERNOISE" not in html_text and "secretTracking" not in html_text
    assert by_path["release.html"][0].heading_path.startswith("Release notes")
    assert by_path["onboarding.docx"][0].heading_path == "Onboarding > First week"


def test_search_finds_pdf_page_and_markdown_lines(runtime: Runtime, corpus: Path) -> None:
    ingest_folder(runtime, "team", corpus)
    hits = search(runtime, "team", "how long are customer logs kept before deletion?", top_k=3)
    assert hits[0].path == "policy.pdf" and hits[0].page == 3
    hits = search(runtime, "team", "how do we rotate the API keys", top_k=3)
    assert hits[0].path == "handbook.md"
    assert hits[0].start_line is not None and hits[0].end_line is not None
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_unchanged_reingest_embeds_nothing(runtime: Runtime, corpus: Path) -> None:
    ingest_folder(runtime, "team", corpus)
    before = chunk_ids(runtime, "team")
    again = ingest_folder(runtime, "team", corpus)
    assert again.chunks_embedded == 0
    assert again.unchanged == len(INDEXED)
    assert again.added == again.updated == 0
    assert chunk_ids(runtime, "team") == before
    # Touching a file without changing its content costs a hash, not an embedding.
    (corpus / "handbook.md").write_text(MARKDOWN)
    touched = ingest_folder(runtime, "team", corpus)
    assert touched.chunks_embedded == 0 and touched.updated == 0
    assert_consistent(runtime, "team")


def test_edit_one_file_replaces_only_its_chunks(runtime: Runtime, corpus: Path) -> None:
    ingest_folder(runtime, "team", corpus)
    with runtime.sessions() as session:
        old = set(session.scalars(select(Chunk.id).join(Document).where(Document.path == "handbook.md")))
        others = set(session.scalars(select(Chunk.id).join(Document).where(Document.path != "handbook.md")))
    (corpus / "handbook.md").write_text(MARKDOWN.replace("24 hours", "48 hours"))
    summary = ingest_folder(runtime, "team", corpus)
    assert summary.updated == 1 and summary.added == 0
    assert summary.unchanged == len(INDEXED) - 1
    assert summary.chunks_embedded == 1  # only the edited chunk; the rest come from the cache
    now = chunk_ids(runtime, "team")
    assert not (old & now)
    assert others <= now
    hits = search(runtime, "team", "how long do old keys stay valid after rotation", top_k=1)
    assert "48 hours" in hits[0].text
    assert_consistent(runtime, "team")


def test_sync_removes_deleted_files(runtime: Runtime, corpus: Path) -> None:
    ingest_folder(runtime, "team", corpus)
    (corpus / "oncall.csv").unlink()
    kept = ingest_folder(runtime, "team", corpus)
    assert kept.deleted == 0  # without --sync nothing is removed
    synced = ingest_folder(runtime, "team", corpus, sync=True)
    assert synced.deleted == 1
    with runtime.sessions() as session:
        assert session.scalar(select(Document).where(Document.path == "oncall.csv")) is None
    assert all(h.path != "oncall.csv" for h in search(runtime, "team", "who is on call for emea", top_k=5))
    assert_consistent(runtime, "team")


def test_duplicate_content_is_embedded_once(runtime: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "dupes"
    folder.mkdir()
    for name in ("a.md", "b.md", "c/copy.md"):
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(MARKDOWN)
    summary = ingest_folder(runtime, "dupes", folder)
    assert summary.added == 3
    per_file = summary.chunks_written // 3
    assert summary.chunks_embedded == per_file
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(EmbeddingCache)) == per_file
    twice = ingest_folder(runtime, "dupes", folder)
    assert twice.chunks_written == 0 and twice.chunks_embedded == 0


def test_collections_never_see_each_other(runtime: Runtime, corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "zoo.md").write_text("# Zoo\nThe giraffe enclosure opens at nine.\n")
    ingest_folder(runtime, "team", corpus)
    ingest_folder(runtime, "zoo", other)
    assert {h.path for h in search(runtime, "zoo", "rotate API keys", top_k=10)} == {"zoo.md"}
    assert "zoo.md" not in {h.path for h in search(runtime, "team", "giraffe enclosure", top_k=10)}


def test_a_file_that_cannot_be_read_fails_alone(
    runtime: Runtime, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "oncall.csv":
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    summary = ingest_folder(runtime, "team", corpus)
    failed = {f["path"]: f["reason"] for f in summary.failed}
    assert failed["oncall.csv"] == "cannot read: Permission denied"
    assert summary.added == len(INDEXED) - 1


def test_out_of_step_index_is_repaired_at_load(
    runtime: Runtime, corpus: Path, settings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    ingest_folder(runtime, "team", corpus)
    ids = sorted(chunk_ids(runtime, "team"))
    from rag_service.collections import find_collection

    with runtime.sessions() as session:
        collection = find_collection(session, "team")
    path = runtime.indexes.path_for(collection.id)
    # Simulate a crash after some commits: the saved index lacks some vectors and has a stale one.
    damaged = VectorIndex.load(path, 384)
    damaged.remove(ids[:5])
    damaged.add(np.array([999_999], dtype=np.int64), np.ones((1, 384), dtype=np.float32) / np.sqrt(384))
    damaged.save(path)
    fresh = Runtime(settings)
    with caplog.at_level(logging.WARNING):
        indexes = fresh.indexes.get(collection)
    assert set(indexes.vectors.ids().tolist()) == set(ids)
    assert "out of step" in caplog.text and "restored 5" in caplog.text and "removed 1" in caplog.text
    # Vectors gone from the cache too: the chunks are re-embedded from their stored text.
    path.unlink()
    with fresh.sessions() as session:
        session.query(EmbeddingCache).delete()
        session.commit()
    again = Runtime(settings).indexes.get(collection)
    assert set(again.vectors.ids().tolist()) == set(ids)


def test_removed_folder_copy_survives_reingest(runtime: Runtime, corpus: Path, tmp_path: Path) -> None:
    """Ingesting a copy of the folder elsewhere (same relative paths) finds everything unchanged."""
    ingest_folder(runtime, "team", corpus)
    moved = tmp_path / "moved"
    shutil.copytree(corpus, moved)
    summary = ingest_folder(runtime, "team", moved)
    assert summary.chunks_embedded == 0
    assert summary.updated == 0
