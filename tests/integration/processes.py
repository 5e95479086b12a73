"""Real processes for the several-machines tests: `rag-service serve` replicas and `rag-service worker`s, each
with its own data dir, over one PostgreSQL database and one Redis database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from rag_service.db.models import Collection, Document
from rag_service.runtime import Runtime
from tests.integration.server import free_port

T = TypeVar("T")


def collection_with_document(runtime: Runtime, name: str, path: str, **collection: object) -> tuple[int, int]:
    """A MiniLM collection holding one document row and no chunks, which a test or benchmark then writes chunks
    and changes into; (collection id, document id)."""
    with runtime.sessions() as session:
        row = Collection(name=name, embedder="minilm", vector_space="all-MiniLM-L6-v2", **collection)
        session.add(row)
        session.flush()
        document = Document(collection_id=row.id, path=path, type="markdown", status="ok")
        session.add(document)
        session.commit()
        return row.id, document.id


@dataclass
class Proc:
    process: subprocess.Popen
    log: Path
    base: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cluster_env(tmp_path: Path, name: str, database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_DATA_DIR=str(tmp_path / name),
        RAG_DATABASE_URL=database_url,
        RAG_BROKER_URL=broker_url,
        RAG_UPLOADS_PATH=str(tmp_path / "shared-uploads"),  # the shared folder every worker reads
        RAG_JOB_LEASE_SECONDS="6",
        RAG_JOB_HEARTBEAT_SECONDS="1",
        RAG_REPLICA_POLL_SECONDS="0.5",
    )
    env.update(extra)
    return env


def start_api(tmp_path: Path, name: str, env: dict[str, str], timeout: float = 180) -> Proc:
    port = free_port()
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "rag_service", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    proc = Proc(process, log, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=proc.base, timeout=10) as client:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {proc.output()}")
            try:
                if client.get("/readyz").status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                proc.stop()
                raise AssertionError(f"{name} never became ready: {proc.output()}")
            time.sleep(0.3)


def start_worker(tmp_path: Path, name: str, env: dict[str, str], timeout: float = 120) -> Proc:
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "rag_service", "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    proc = Proc(process, log)
    deadline = time.monotonic() + timeout
    while "ready." not in log.read_text(errors="replace"):  # Celery's own line once it consumes
        if process.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise AssertionError(f"worker {name} did not start: {proc.output()}")
        time.sleep(0.2)
    return proc


@contextmanager
def processes() -> Iterator[list[Proc]]:
    """Every process started into the list is stopped at the end, whatever happens."""
    started: list[Proc] = []
    try:
        yield started
    finally:
        for proc in reversed(started):
            proc.stop()


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
