"""MCP against REST on the same running server and collection: `search` and `ask` latency, p50 over N calls.

    python -m benchmarks.mcp [--calls 50] [--files 60] [--reader off]

Ingests git-doc's .txt files (the first --files; 0: all) into a fresh data dir, starts `rag-service serve`, and
for each of the first N questions of shared/eval/git-doc/questions.jsonl times on the same server: REST
`POST /api/search` and MCP `search`, then REST `POST /api/ask` (JSON, with a fresh conversation made beforehand,
untimed, so that both save the turn) and MCP `ask` (which starts its own conversation); which door goes first
alternates from question to question. Clients keep their connections open (httpx for REST, the SDK's
`ClientSession` over Streamable HTTP for MCP). One run; the first three questions warm both paths up untimed.

What is compared is the front doors: the answer's own work is the same service call on both. The reader
(RAG_READER) is off by default here because its model's prompt cache makes the second of two identical asks
almost free, whichever door sends it; `--reader auto` measures with it. Results land in
benchmarks/results/mcp-*.{json,md} with the SDK version and the negotiated protocol version.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from benchmarks.run import GIT_DOC, QUESTIONS, RESULTS, machine
from tests.integration.processes import start_api

COLLECTION = "git"
WARM_UP = 3


def ingest(root: Path, env: dict[str, str], files: int) -> int:
    source = root / "git-doc"
    source.mkdir()
    texts = sorted(GIT_DOC.glob("*.txt"))
    for path in texts[:files] if files else texts:
        shutil.copy(path, source / path.name)
    subprocess.run(
        [sys.executable, "-m", "rag_service", "ingest", str(source), "-c", COLLECTION, "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    return len(list(source.iterdir()))


def p50(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


async def measure(base: str, questions: list[str]) -> dict[str, Any]:
    times: dict[str, list[float]] = {"rest_search": [], "mcp_search": [], "rest_ask": [], "mcp_ask": []}
    async with (
        httpx.AsyncClient(base_url=base, timeout=120) as rest,
        httpx2.AsyncClient(timeout=120) as http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        initialized = await session.initialize()
        for n, question in enumerate(questions):

            async def clock(name: str, call: Any, timed: bool = n >= WARM_UP) -> Any:
                started = time.perf_counter()
                result = await call
                if timed:
                    times[name].append(time.perf_counter() - started)
                return result

            search = {"query": question, "collection": COLLECTION, "top_k": 5}

            async def rest_search(search: dict[str, Any] = search) -> None:
                response = await clock("rest_search", rest.post("/api/search", json=search))
                response.raise_for_status()

            async def mcp_search(search: dict[str, Any] = search) -> None:
                result = await clock("mcp_search", session.call_tool("search", search))
                assert not result.is_error, result.content

            async def rest_ask(question: str = question) -> None:
                made = await rest.post("/api/conversations", json={"collection": COLLECTION})
                body = {"question": question, "collection": COLLECTION, "conversation_id": made.json()["id"]}
                response = await clock("rest_ask", rest.post("/api/ask", json=body))
                response.raise_for_status()

            async def mcp_ask(question: str = question) -> None:
                arguments = {"question": question, "collection": COLLECTION}
                result = await clock("mcp_ask", session.call_tool("ask", arguments))
                assert not result.is_error, result.content

            for pair in ((rest_search, mcp_search), (rest_ask, mcp_ask)):
                for door in pair if n % 2 == 0 else reversed(pair):
                    await door()
    return {
        "protocol_version": initialized.protocol_version,
        "calls": len(questions) - WARM_UP,
        "p50_ms": {name: p50(values) for name, values in times.items()},
        "ratio_search": round(statistics.median(times["mcp_search"]) / statistics.median(times["rest_search"]), 2),
        "ratio_ask": round(statistics.median(times["mcp_ask"]) / statistics.median(times["rest_ask"]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--files", type=int, default=60, help="git-doc .txt files to ingest (0: all)")
    parser.add_argument("--reader", default="off", help="RAG_READER of the server (default off: see above)")
    args = parser.parse_args()
    records = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    questions = [r["question"] for r in records][: args.calls + WARM_UP]
    if len(questions) < args.calls + WARM_UP:
        questions = (questions * (args.calls // len(questions) + 2))[: args.calls + WARM_UP]
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as folder:
        root = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        env["RAG_DATA_DIR"] = str(root / "data")
        env["RAG_READER"] = args.reader
        files = ingest(root, env, args.files)
        server = start_api(root, "serve", env)
        try:
            report = anyio.run(measure, server.base, questions)
        finally:
            server.stop()
    report |= {"files": files, "reader": args.reader, "mcp_sdk": version("mcp"), "machine": machine()}
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"mcp-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    p = report["p50_ms"]
    lines = [
        f"# MCP vs REST, {report['machine']['date']}",
        "",
        f"git-doc, {files} .txt files; {report['calls']} calls each, p50 ms, one run, RAG_READER={args.reader}; "
        f"MCP SDK {report['mcp_sdk']}, protocol {report['protocol_version']} over Streamable HTTP (stateless, JSON "
        f"responses); {report['machine']['cpu']}, {report['machine']['cores']} cores.",
        "",
        "| call | REST | MCP | MCP / REST |",
        "|---|---|---|---|",
        f"| search | {p['rest_search']} | {p['mcp_search']} | {report['ratio_search']} |",
        f"| ask | {p['rest_ask']} | {p['mcp_ask']} | {report['ratio_ask']} |",
        "",
    ]
    (RESULTS / f"mcp-{stamp}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
