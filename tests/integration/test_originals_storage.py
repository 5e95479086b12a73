"""Uploaded originals in S3-compatible object storage, against a real S3 API server (moto's, on a free port)."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from moto.server import ThreadedMotoServer

from rag_service.errors import InvalidInputError, StorageUnavailableError
from rag_service.settings import Settings
from rag_service.storage import build_originals_store, local_folder_for
from rag_service.storage.folder import FolderStore
from rag_service.storage.s3 import S3Store, _client
from rag_service.uploads import IncomingFile, store_upload
from tests.conftest import make_settings
from tests.integration.server import free_port, running_server, wait_job, wait_ready

HANDBOOK = b"# Handbook\n\nRotate the API keys every ninety days with the vault command line tool.\n"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str) -> Any:
    """A fresh bucket per test (the server outlives the test), as a boto3 Bucket resource."""
    s3 = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    return s3.create_bucket(Bucket=f"b-{uuid.uuid4().hex[:12]}")


def s3_settings(tmp_path: Path, endpoint: str, bucket_name: str, **overrides: object) -> Settings:
    return make_settings(
        tmp_path,
        uploads_url=f"s3://{bucket_name}/originals",
        s3_endpoint_url=endpoint,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        **overrides,
    )


@pytest.fixture
def store(tmp_path: Path, endpoint: str, bucket: Any) -> S3Store:
    built = build_originals_store(s3_settings(tmp_path, endpoint, bucket.name))
    assert isinstance(built, S3Store)
    return built


def keys(bucket: Any) -> list[str]:
    return sorted(o.key for o in bucket.objects.all())


def staged(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "staged" / uuid.uuid4().hex
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_save_then_materialize_downloads_only_what_changed(
    store: S3Store, bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = staged(tmp_path, {"a.md": b"# A\n", "keep.md": b"# Keep\n", "docs/b.md": b"# B v1\n"})
    store.save(7, staging)
    assert not staging.exists()
    assert keys(bucket) == ["originals/7/a.md", "originals/7/docs/b.md", "originals/7/keep.md"]
    source = store.source(7)
    assert source == f"s3://{bucket.name}/originals/7" and store.is_upload_source(source)
    assert not store.is_upload_source(f"s3://{bucket.name}/originals/7/x") and not store.is_upload_source("/srv/7")

    work = tmp_path / "data"
    folder = store.materialize(source, work)
    assert folder == (work / "originals-cache" / "7").resolve()
    assert files_under(folder) == {"a.md": b"# A\n", "docs/b.md": b"# B v1\n", "keep.md": b"# Keep\n"}
    before = {rel: (folder / rel).stat().st_mtime_ns for rel in ("keep.md", "docs/b.md")}

    # One object changed (same size: only its ETag tells), one deleted.
    bucket.put_object(Key="originals/7/docs/b.md", Body=b"# B v2\n")
    bucket.Object("originals/7/a.md").delete()
    fetched: list[str] = []
    real_get = store.client.get_object

    def spy(**kwargs: Any) -> Any:
        fetched.append(kwargs["Key"])
        return real_get(**kwargs)

    monkeypatch.setattr(store.client, "get_object", spy)
    assert store.materialize(source, work) == folder
    assert fetched == ["originals/7/docs/b.md"]
    assert files_under(folder) == {"docs/b.md": b"# B v2\n", "keep.md": b"# Keep\n"}
    assert (folder / "keep.md").stat().st_mtime_ns == before["keep.md"]
    assert (folder / "docs/b.md").stat().st_mtime_ns != before["docs/b.md"]  # ingest must see it changed

    fetched.clear()
    store.materialize(source, work)
    assert fetched == []  # nothing changed: nothing downloaded
    assert local_folder_for(store.settings, source) == folder  # the job runner's way in


def test_keys_that_could_escape_never_leave_the_cache(
    store: S3Store, bucket: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for key in ("../evil.md", "/abs.md", "../../../../tmp/evil2.md", "a\\..\\..\\evil3.md", "./dot.md", "ok.md"):
        bucket.put_object(Key=f"originals/7/{key}", Body=b"# Evil\n" if key != "ok.md" else b"# Ok\n")
    with caplog.at_level(logging.WARNING, logger="rag_service.storage.s3"):
        folder = store.materialize(store.source(7), tmp_path / "data")
    assert files_under(folder) == {"ok.md": b"# Ok\n"}
    everything = [p.name for p in tmp_path.rglob("*")] + [p.name for p in Path("/tmp").glob("evil*")]
    assert not {"evil.md", "abs.md", "evil2.md", "evil3.md"} & set(everything)
    assert sum("skipping object" in r.getMessage() for r in caplog.records) == 5


def test_delete_and_delete_collection_remove_objects(store: S3Store, bucket: Any, tmp_path: Path) -> None:
    store.save(7, staged(tmp_path, {"a.md": b"# A\n", "docs/b.md": b"# B\n"}))
    store.save(8, staged(tmp_path, {"a.md": b"# Other\n"}))
    store.delete(7, "a.md")
    store.delete(7, "never-there.md")  # nothing to do is not an error
    assert keys(bucket) == ["originals/7/docs/b.md", "originals/8/a.md"]
    folder = store.materialize(store.source(7), tmp_path / "data")
    store.delete_collection(7)
    assert keys(bucket) == ["originals/8/a.md"]
    assert not folder.exists()


def test_upload_checks_ask_the_bucket(tmp_path: Path, endpoint: str, bucket: Any) -> None:
    """The existing checks hold for objects: conflicts with what is stored, stored .ragignore rules."""
    settings = s3_settings(tmp_path, endpoint, bucket.name)
    bucket.put_object(Key="originals/3/docs/a.md", Body=b"# A\n")
    bucket.put_object(Key="originals/3/guide.md/intro.md", Body=b"# Intro\n")  # a folder named like a file
    bucket.put_object(Key="originals/3/.ragignore", Body=b"drafts/\n")

    def upload(name: str, data: bytes) -> Any:
        return store_upload(settings, 3, [IncomingFile(name, io.BytesIO(data), len(data))])

    with pytest.raises(InvalidInputError, match="already a folder"):
        upload("guide.md", b"# Guide\n")
    with pytest.raises(InvalidInputError, match="already a file"):
        upload("docs/a.md/x.md", b"# X\n")
    with pytest.raises(InvalidInputError, match=r"'\.\.' are not allowed"):
        upload("../x.md", b"# X\n")
    result = store_upload(
        settings,
        3,
        [IncomingFile("drafts/x.md", io.BytesIO(b"# X\n"), 4), IncomingFile("new.md", io.BytesIO(b"# N\n"), 4)],
    )
    assert result.stored == ["new.md"] and result.skipped == [("drafts/x.md", "ignored by .ragignore")]
    assert keys(bucket) == [
        "originals/3/.ragignore",
        "originals/3/docs/a.md",
        "originals/3/guide.md/intro.md",
        "originals/3/new.md",
    ]
    assert not list((tmp_path / "data" / "originals-staging").iterdir())
    assert not (tmp_path / "data" / "uploads").exists()


def test_storage_errors_are_one_clear_sentence(
    tmp_path: Path, endpoint: str, bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    incoming = [IncomingFile("a.md", io.BytesIO(b"# A\n"), 4)]
    missing = s3_settings(tmp_path, endpoint, "no-such-bucket")
    with pytest.raises(StorageUnavailableError, match="has no bucket 'no-such-bucket'") as refused:
        store_upload(missing, 1, incoming)
    assert refused.value.status == 503

    down = s3_settings(tmp_path, f"http://127.0.0.1:{free_port()}", bucket.name)
    with pytest.raises(StorageUnavailableError, match=r"^object storage unreachable at http://127\.0\.0\.1:"):
        store_upload(down, 1, incoming)

    # Storage lost half way through: the caller hears it, and the staging folder is not left behind.
    settings = s3_settings(tmp_path, endpoint, bucket.name)
    client = _client(endpoint, "testing", "testing", "us-east-1")

    def lost(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url=endpoint)

    monkeypatch.setattr(client, "put_object", lost)
    with pytest.raises(StorageUnavailableError, match="while storing the upload"):
        store_upload(settings, 1, incoming)
    assert not list((tmp_path / "data" / "originals-staging").iterdir())

    monkeypatch.setitem(sys.modules, "boto3", None)  # as if the s3 extra were not installed
    _client.cache_clear()
    try:
        with pytest.raises(StorageUnavailableError, match=r"pip install 'rag-service\[s3\]'"):
            build_originals_store(settings)
    finally:
        _client.cache_clear()
    with pytest.raises(StorageUnavailableError, match="RAG_UPLOADS_URL must be s3://"):
        build_originals_store(make_settings(tmp_path, uploads_url="ftp://host/x"))


def test_folder_store_sources_are_folders(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = build_originals_store(settings)
    assert isinstance(store, FolderStore)
    source = store.source(4)
    assert source == str((tmp_path / "data" / "uploads" / "4").resolve()) and store.is_upload_source(source)
    assert local_folder_for(settings, source) == Path(source)
    assert local_folder_for(settings, "/srv/docs") == Path("/srv/docs")  # a synced server folder
    with pytest.raises(InvalidInputError, match="not under RAG_UPLOADS_URL"):
        local_folder_for(settings, "s3://elsewhere/originals/4")


@pytest.mark.slow
def test_upload_search_delete_through_the_api(tmp_path: Path, endpoint: str, bucket: Any) -> None:
    settings = s3_settings(tmp_path, endpoint, bucket.name)
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=120) as api:
        wait_ready(api)
        assert api.post("/api/collections", json={"name": "team"}).status_code == 201
        accepted = api.post("/api/collections/team/files", files=[("files", ("handbook.md", HANDBOOK))])
        assert accepted.status_code == 202, accepted.text
        job = wait_job(api, accepted.json()["job_id"])
        assert job["status"] == "done" and job["summary"]["added"] == 1, job
        hits = api.post("/api/search", json={"query": "rotate the API keys", "collection": "team"}).json()["hits"]
        assert hits and hits[0]["path"] == "handbook.md" and "ninety days" in hits[0]["text"]
        [key] = keys(bucket)
        assert key.startswith("originals/") and key.endswith("/handbook.md")
        assert not (tmp_path / "data" / "uploads").exists()  # nothing kept on the API machine's upload folder

        # A second upload: the first file's mirrored copy is left as it was, and is unchanged for ingest.
        more = api.post("/api/collections/team/files", files=[("files", ("notes.md", b"# Notes\n\nLunch at noon.\n"))])
        summary = wait_job(api, more.json()["job_id"])["summary"]
        assert (summary["added"], summary["unchanged"]) == (1, 1), summary

        documents = api.get("/api/collections/team/documents").json()["items"]
        handbook = next(d for d in documents if d["path"] == "handbook.md")
        assert api.delete(f"/api/collections/team/documents/{handbook['id']}").status_code == 204
        assert keys(bucket) == [key.replace("handbook.md", "notes.md")]
        hits = api.post("/api/search", json={"query": "rotate the API keys", "collection": "team"}).json()["hits"]
        assert all(h["path"] != "handbook.md" for h in hits)

        assert api.delete("/api/collections/team").status_code == 204
        assert keys(bucket) == []
