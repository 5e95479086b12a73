"""The app under a real uvicorn server on a free loopback port, for tests that talk HTTP to it."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from rag_service.api.app import create_app
from rag_service.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def llama_cpp_server(model_path: str, alias: str, n_ctx: int) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on a free loopback port; its base URL (…/v1)."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1",
               "--port", str(port), "--model_alias", alias, "--n_ctx", str(n_ctx)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_ready(client: httpx.Client, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError("server never became ready")
        time.sleep(0.2)


def wait_job(client: httpx.Client, job_id: int, timeout: float = 300, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")
        time.sleep(0.2)


def folder_files(root: Path) -> list[tuple[str, tuple[str, bytes]]]:
    """Multipart parts as a browser's folder upload sends them: filenames carry relative paths."""
    parts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not {".git", "node_modules"} & set(path.relative_to(root).parts):
            parts.append(("files", (path.relative_to(root).as_posix(), path.read_bytes())))
    return parts


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
