"""The MCP server through real clients: the SDK's own `ClientSession` against `rag-service mcp` (stdio) and against
a running `rag-service serve` (Streamable HTTP at /mcp), and the MCP Inspector's CLI as a second, independent
client. One small real collection (tests/corpus.py) and a second one a scoped key may not see."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from rag_service.db.models import Chunk, Collection
from rag_service.indexing import ingest_folder
from rag_service.runtime import Runtime
from tests.conftest import make_settings
from tests.corpus import build_corpus
from tests.integration.processes import Proc, start_api
from tests.integration.server import running_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / "tests" / "mcp_inspector" / "node_modules" / ".bin" / "mcp-inspector"
KEYS = "admin-key,docs-key:docs"  # admin sees both collections; docs-key only `docs`
TOOLS = {"list_collections", "search", "ask", "read_passage"}
LONG = "x" * 4001  # one over RAG_MAX_QUESTION_CHARS
LIMIT_SENTENCE = "{field}: 4001 characters, over the limit of 4000 (RAG_MAX_QUESTION_CHARS)"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """`docs`: the test corpus; `vault`: one file with a fact only an unscoped caller may read. The data dir and
    the id of the vault's chunk."""
    root = tmp_path_factory.mktemp("mcp")
    runtime = Runtime(make_settings(root))
    ingest_folder(runtime, "docs", build_corpus(root / "docs"))
    vault = root / "vault"
    vault.mkdir()
    (vault / "codes.md").write_text("# Vault\n\nThe vault door code is 7431 and changes every quarter.\n")
    ingest_folder(runtime, "vault", vault)
    with runtime.sessions() as session:
        chunk = session.scalars(select(Chunk).join(Collection).where(Collection.name == "vault")).one()
        assert "7431" in chunk.text
        return root / "data", chunk.id


@pytest.fixture(scope="module")
def data_dir(ingested: tuple[Path, int]) -> Path:
    return ingested[0]


@pytest.fixture(scope="module")
def vault_chunk(ingested: tuple[Path, int]) -> int:
    return ingested[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The reader's model (RAG_READER) is off: what is tested is the MCP door, and an ask is the same service call
    through every door (tests/integration/test_answering.py has the reader)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data_dir), RAG_API_KEYS=KEYS, RAG_READER="off", **extra)
    return env


@pytest.fixture(scope="module")
def serve(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """A real `rag-service serve` over the same data dir, with keys, and a 1 MB body limit."""
    proc = start_api(tmp_path_factory.mktemp("serve"), "serve", server_env(data_dir, RAG_MAX_REQUEST_BODY_MB="1"))
    try:
        yield proc
    finally:
        proc.stop()


def stdio_params(data_dir: Path, *args: str) -> StdioServerParameters:
    env = {k: v for k, v in server_env(data_dir).items() if k.startswith(("RAG_", "PYTHON", "HF_", "TRANSFORMERS_"))}
    return StdioServerParameters(command=sys.executable, args=["-m", "rag_service", "mcp", *args], env=env)


@asynccontextmanager
async def stdio_session(data_dir: Path, *args: str) -> AsyncIterator[ClientSession]:
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(stdio_params(data_dir, *args), errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(base: str, key: str | None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    return await session.call_tool(tool, arguments)


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def check_tools_listed(session: ClientSession) -> None:
    assert session.protocol_version == "2025-11-25"
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description or "") > 80, tool.name  # written for a model to choose by
        assert tool.input_schema["type"] == "object" and tool.output_schema is not None
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["query"]["maxLength"] == 4000
    assert search["properties"]["top_k"]["maximum"] == 100
    assert set(search["properties"]) == {"query", "collection", "top_k", "path_filter"}
    assert tools["ask"].input_schema["required"] == ["question", "collection"]
    assert set(tools["ask"].output_schema["properties"]) >= {"status", "answer", "citations", "conversation_id"}
    assert tools["read_passage"].input_schema["properties"]["context"]["maximum"] == 10


async def check_search_ask_read(session: ClientSession) -> None:
    """search and ask on the real collection return cited passages; read_passage reads around a hit."""
    result = await call(session, "search", query="how do I rotate the API keys", collection="docs", top_k=3)
    assert not result.is_error
    found = result.structured_content
    assert found["collections"] == ["docs"] and not found["merged_across_collections"]
    top = found["passages"][0]
    assert top["path"] == "handbook.md" and "atlas keys rotate --all" in top["text"]
    assert top["start_line"] <= top["end_line"] and top["location"].startswith("handbook.md:")
    assert top["section"].startswith("Operations handbook") and top["score"] > 0
    assert top["chunk_id"] in top["chunk_ids"]
    assert "atlas keys rotate --all" in text_of(result) and "handbook.md:" in text_of(result)

    paged = await call(session, "search", query="customer logs retention", collection="docs", top_k=1)
    page_hit = paged.structured_content["passages"][0]
    assert page_hit["path"] == "policy.pdf" and page_hit["page"] == 3 and page_hit["page_unit"] == "page"
    assert page_hit["location"] == "policy.pdf p.3" and page_hit["start_line"] is None

    filtered = await call(session, "search", query="rotate keys", collection="docs", path_filter="guides/")
    assert all(p["path"].startswith("guides/") for p in filtered.structured_content["passages"])

    context = await call(session, "read_passage", chunk_id=top["chunk_id"], context=1)
    assert not context.is_error
    read = context.structured_content
    assert read["collection"] == "docs" and read["path"] == "handbook.md" and read["chunk_id"] == top["chunk_id"]
    assert read["before"] and "atlas keys rotate --all" in read["text"]
    assert read["before"][0]["text"].splitlines()[0] in read["text"]

    answer = await call(session, "ask", question="How do I rotate the API keys?", collection="docs")
    assert not answer.is_error, text_of(answer)
    asked = answer.structured_content
    assert asked["status"] == "answered" and "atlas keys rotate" in asked["answer"]
    cited = asked["citations"][0]
    assert cited["path"] == "handbook.md" and cited["location"].startswith("handbook.md:")
    assert "atlas keys rotate" in cited["quote"] and cited["chunk_id"] > 0
    assert isinstance(asked["conversation_id"], int)
    assert "Status: answered" in text_of(answer) and f"conversation_id: {asked['conversation_id']}" in text_of(answer)

    follow = await call(
        session,
        "ask",
        question="how long do the old ones stay valid?",
        collection="docs",
        conversation_id=asked["conversation_id"],
    )
    assert not follow.is_error, text_of(follow)
    followed = follow.structured_content
    assert followed["conversation_id"] == asked["conversation_id"] and followed["turn_id"] > asked["turn_id"]
    assert followed["status"] in ("answered", "partial", "declined")

    declined = await call(session, "ask", question="What port does Gitea use by default?", collection="docs")
    assert declined.structured_content["status"] == "declined" and not declined.structured_content["citations"]


async def check_errors(session: ClientSession) -> None:
    """Tool errors with REST's sentences, never a stack trace."""
    cases = [
        (("search", {"query": LONG, "collection": "docs"}), LIMIT_SENTENCE.format(field="query")),
        (("ask", {"question": LONG, "collection": "docs"}), LIMIT_SENTENCE.format(field="question")),
        (("search", {"query": "keys", "collection": "nope"}), "no collection named 'nope'"),
        (("ask", {"question": "keys?", "collection": "nope"}), "no collection named 'nope'"),
        (("search", {"query": "keys", "top_k": 500}), "top_k must be between 1 and 100"),
        (("read_passage", {"chunk_id": 99_999}), "no chunk 99999"),
        (("ask", {"question": "keys?", "collection": "docs", "conversation_id": 99_999}), "no conversation 99999"),
    ]
    for (tool, arguments), sentence in cases:
        result = await session.call_tool(tool, arguments)
        assert result.is_error and text_of(result) == sentence, (tool, text_of(result))
        assert "Traceback" not in text_of(result)


async def check_scoped(session: ClientSession, vault_chunk: int) -> None:
    """A key for `docs` sees neither `vault` nor anything in it; the answers look as if it did not exist."""
    listed = (await call(session, "list_collections")).structured_content["collections"]
    assert [c["name"] for c in listed] == ["docs"]
    everywhere = await call(session, "search", query="vault door code")
    assert everywhere.structured_content["collections"] == ["docs"]
    assert all(p["collection"] == "docs" for p in everywhere.structured_content["passages"])
    assert "7431" not in text_of(everywhere)
    for tool, arguments in [
        ("search", {"query": "vault door code", "collection": "vault"}),
        ("ask", {"question": "What is the vault door code?", "collection": "vault"}),
    ]:
        result = await session.call_tool(tool, arguments)
        assert result.is_error and text_of(result) == "no collection named 'vault'"
    hidden = await call(session, "read_passage", chunk_id=vault_chunk)
    assert hidden.is_error and text_of(hidden) == f"no chunk {vault_chunk}"


# stdio: `rag-service mcp`


def test_stdio_tools_search_ask_and_errors(data_dir: Path) -> None:
    async def main() -> None:
        async with stdio_session(data_dir) as session:
            await check_tools_listed(session)
            listed = (await call(session, "list_collections")).structured_content["collections"]
            docs = next(c for c in listed if c["name"] == "docs")
            assert [c["name"] for c in listed] == ["docs", "vault"] and docs["documents"] > 5
            assert docs["embedder"] == "minilm" and ".md" in docs["description"]
            await check_search_ask_read(session)
            merged = (await call(session, "search", query="vault door code", top_k=3)).structured_content
            assert merged["merged_across_collections"] and merged["collections"] == ["docs", "vault"]
            assert merged["passages"][0]["collection"] == "vault" and "merged by score" in merged["scope"]
            assert [p["rank"] for p in merged["passages"]] == [1, 2, 3]
            scores = [p["score"] for p in merged["passages"]]
            assert scores == sorted(scores, reverse=True)
            await check_errors(session)

    anyio.run(main)


def test_stdio_with_a_scoped_key(data_dir: Path, vault_chunk: int) -> None:
    async def main() -> None:
        async with stdio_session(data_dir, "--key", "docs-key") as session:
            await check_scoped(session, vault_chunk)

    anyio.run(main)
    env = server_env(data_dir)
    wrong = subprocess.run(
        [sys.executable, "-m", "rag_service", "mcp", "--key", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert wrong.returncode == 1 and "invalid API key" in wrong.stderr and wrong.stdout == ""


def test_stdio_client_gone_mid_call_ends_the_server(data_dir: Path) -> None:
    """A client that sends a question and closes its pipes: the server ends cleanly, without a traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rag_service", "mcp"],
        env=server_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "ask", "arguments": {"question": "How do I rotate the API keys?", "collection": "docs"}},
        },
    ]
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1  # initialized; the ask is under way
    process.stdin.close()
    process.stdout.close()
    try:
        process.wait(timeout=60)
    finally:
        process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr, stderr


# Streamable HTTP: `serve`, /mcp


def test_http_tools_search_ask_and_errors(serve: Proc) -> None:
    async def main() -> None:
        async with http_session(serve.base, "admin-key") as session:
            await check_tools_listed(session)
            await check_search_ask_read(session)
            await check_errors(session)

    anyio.run(main)
    # The sentence of the tool error is REST's, word for word.
    with httpx.Client(base_url=serve.base, headers={"Authorization": "Bearer admin-key"}, timeout=60) as client:
        rest = client.post("/api/search", json={"query": LONG, "collection": "docs"})
        assert rest.status_code == 422 and rest.json()["error"]["message"] == LIMIT_SENTENCE.format(field="query")
        unknown = client.post("/api/search", json={"query": "keys", "collection": "nope"})
        assert unknown.json()["error"]["message"] == "no collection named 'nope'"


def test_http_keys_and_scopes(serve: Proc, vault_chunk: int) -> None:
    async def main() -> None:
        async with http_session(serve.base, "admin-key") as session:
            found = await call(session, "search", query="vault door code", collection="vault", top_k=1)
            assert found.structured_content["passages"][0]["chunk_id"] == vault_chunk
        async with http_session(serve.base, "docs-key") as session:
            await check_scoped(session, vault_chunk)
        for key in (None, "wrong-key"):
            with pytest.raises(ExceptionGroup) as refused:  # the SDK's client gives up on the 401 (below)
                async with http_session(serve.base, key):
                    pass
            assert refused.group_contains(MCPError)

    anyio.run(main)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=serve.base, timeout=60) as client:
        missing = client.post("/mcp", json=initialize, headers=headers)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["message"] == "missing API key: send 'Authorization: Bearer <key>'"
        wrong = client.post("/mcp", json=initialize, headers={**headers, "Authorization": "Bearer wrong-key"})
        assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "invalid API key"
        # The same body limit as every other route (RAG_MAX_REQUEST_BODY_MB=1 here).
        big = client.post(
            "/mcp",
            content=b'{"pad": "' + b"x" * 1_100_000 + b'"}',
            headers={**headers, "Authorization": "Bearer admin-key", "Content-Type": "application/json"},
        )
        assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"


def test_http_without_keys_answers_loopback_names_only(ingested: tuple[Path, int]) -> None:
    """No keys: the server is on loopback, and a request addressed to another name (a page that rebound its own
    name to 127.0.0.1) is refused before any tool runs."""
    settings = make_settings(ingested[0].parent, reader="off")  # the module's data dir, no keys
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    with running_server(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        local = client.post("/mcp", json=initialize, headers=headers)
        assert local.status_code == 200 and local.json()["result"]["serverInfo"]["name"] == "rag-service"
        rebound = client.post("/mcp", json=initialize, headers={**headers, "Host": "attacker.example"})
        assert rebound.status_code == 421


def test_http_modern_protocol_discover(serve: Proc) -> None:
    """A 2026-era client (server/discover, no handshake) gets the same tools."""

    async def main() -> None:
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer docs-key"}, timeout=60) as http,
            streamable_http_client(f"{serve.base}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.discover()
            assert session.protocol_version == "2026-07-28"
            result = await call(session, "search", query="rotate the API keys", top_k=1)
            assert result.structured_content["passages"][0]["path"] == "handbook.md"

    anyio.run(main)


def test_http_server_survives_clients_that_disconnect_mid_call(serve: Proc) -> None:
    """Clients that send a question and hang up before the answer (raw sockets, and the SDK's client cancelled
    mid-call): the server goes on answering everyone else."""
    url = urlsplit(serve.base)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "ask", "arguments": {"question": "How do I rotate the API keys?", "collection": "docs"}},
        }
    ).encode()
    request = (
        f"POST /mcp HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer admin-key\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"MCP-Protocol-Version: 2025-11-25\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    for _ in range(5):
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(request)  # and gone, before any answer

    async def main() -> None:
        async with http_session(serve.base, "admin-key") as session:
            with anyio.move_on_after(0.01):
                await call(session, "ask", question="How do I rotate the API keys?", collection="docs")
        async with http_session(serve.base, "admin-key") as session:
            result = await call(session, "ask", question="How do I rotate the API keys?", collection="docs")
            assert result.structured_content["status"] == "answered"

    anyio.run(main)
    assert serve.process.poll() is None
    assert httpx.get(f"{serve.base}/readyz", timeout=10).status_code == 200
    assert "Traceback" not in serve.output()


# A second, independent client: the MCP Inspector's CLI (npm, tests/mcp_inspector/)


def inspector(*args: str) -> Any:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the MCP Inspector (an npm package) cannot run")
    if not INSPECTOR.exists():
        raise AssertionError("the MCP Inspector is not installed: npm ci --prefix tests/mcp_inspector (make test does)")
    env = dict(os.environ, MCP_CATALOG_PATH=str(INSPECTOR.parents[2] / "node_modules" / "catalog.json"))
    result = subprocess.run([str(INSPECTOR), "--cli", *args], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_mcp_inspector_cli_lists_tools_and_searches(serve: Proc) -> None:
    auth = ["--header", "Authorization: Bearer admin-key"]
    listed = inspector(f"{serve.base}/mcp", *auth, "--method", "tools/list")
    assert {tool["name"] for tool in listed["tools"]} == TOOLS
    searched = inspector(
        f"{serve.base}/mcp",
        *auth,
        "--method",
        "tools/call",
        "--tool-name",
        "search",
        "--tool-arg",
        "query=how do I rotate the API keys",
        "collection=docs",
        "top_k=2",
    )
    assert searched["isError"] is False
    top = searched["structuredContent"]["passages"][0]
    assert top["path"] == "handbook.md" and "atlas keys rotate --all" in top["text"]
    assert "atlas keys rotate --all" in searched["content"][0]["text"]
