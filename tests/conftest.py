"""Shared fixtures: real SQLite and PostgreSQL databases, a data dir per test, a corpus of every format."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rag_service.db.session import get_engine
from rag_service.runtime import Runtime
from rag_service.settings import Settings
from tests.corpus import build_corpus

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# The reader model takes seconds an answer on 2 cores: tests of everything else (and the servers and CLIs they
# start, which inherit this) decide by the evidence rules alone. tests/integration/test_reader.py and the
# answer UI test turn it on; a developer who exports RAG_READER keeps theirs.
os.environ.setdefault("RAG_READER", "off")
# Where those tests join the reader model once (1.1 GB), shared by every test's data dir.
READER_CACHE = Path(os.environ.get("RAG_TEST_MODEL_CACHE", Path.home() / ".cache" / "rag-service" / "models"))


def _postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not _postgres_available():
        pytest.fail(
            "PostgreSQL is not reachable on 127.0.0.1:5432 (database test, trust auth); "
            "start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    return POSTGRES_ADMIN


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    name = f"rag_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own (emptied before and after) as the Celery broker of one test: 1 to 14 (0 is
    the usual default, 15 the benchmarks')."""
    import redis

    db = 1 + uuid.uuid4().int % 14
    client = redis.Redis(host="127.0.0.1", port=6379, db=db)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not reachable on 127.0.0.1:6379: start it (redis-server --daemonize yes)")
    client.flushdb()
    try:
        yield f"redis://127.0.0.1:6379/{db}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'rag.db'}"
    return request.getfixturevalue("postgres_url")


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "index_checkpoint_seconds": 0.0}
    if database_url:
        values["database_url"] = database_url
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Runtime:
    return Runtime(settings)


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Runtime:
    return Runtime(make_settings(tmp_path))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return build_corpus(tmp_path / "docs")


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real CLI in a subprocess against this test's data dir."""
    env = dict(os.environ)
    env["RAG_DATA_DIR"] = str(tmp_path / "data")
    env.pop("RAG_DATABASE_URL", None)
    return env
