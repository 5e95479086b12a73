"""A small OpenAI-compatible server on a real loopback socket that records every request it receives.

Tests point the service at it to see exactly what the service sends: which URL, which headers, which body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class StubLlm:
    url: str = ""
    answer: str = "Keys rotate every ninety days [1]."
    fail_chat: bool = False  # answer chat completions with HTTP 500 (a server that is up but broken)
    secret: str | None = None  # a credential this server must never see
    stall_seconds: float = 0.0  # a streamed answer stops this long after its first piece
    received: list[Received] = field(default_factory=list)
    leaks: list[Received] = field(default_factory=list)

    def chat_requests(self) -> list[Received]:
        return [r for r in self.received if r.path.endswith("/chat/completions")]


def _handler(stub: StubLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def _record(self) -> Received:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            stub.received.append(received)
            raw = str(self.headers).encode() + body
            if stub.secret and stub.secret.encode() in raw:
                stub.leaks.append(received)
            return received

        def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._record()
            if self.path.endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "local", "object": "model"}]}).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            received = self._record()
            if not self.path.endswith("/chat/completions"):
                self._send(404, b'{"error": "not found"}')
                return
            if stub.fail_chat:
                self._send(500, b'{"error": {"message": "model crashed"}}')
                return
            request = json.loads(received.body or b"{}")
            base = {"id": "chatcmpl-stub", "created": 0, "model": request.get("model", "local")}
            if not request.get("stream"):
                message = {"role": "assistant", "content": stub.answer}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._send(200, json.dumps({**base, "object": "chat.completion", "choices": [choice]}).encode())
                return
            chunks = [
                {"index": 0, "delta": {"role": "assistant", "content": stub.answer}, "finish_reason": None},
                {"index": 0, "delta": {}, "finish_reason": "stop"},
            ]
            events = [json.dumps({**base, "object": "chat.completion.chunk", "choices": [c]}) for c in chunks]
            payload = "".join(f"data: {e}\n\n" for e in [*events, "[DONE]"]).encode()
            if not stub.stall_seconds:
                self._send(200, payload, "text/event-stream")
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(f"data: {events[0]}\n\n".encode())
            self.wfile.flush()
            time.sleep(stub.stall_seconds)
            self.close_connection = True

    return Handler


@contextmanager
def stub_llm(**options: object) -> Iterator[StubLlm]:
    stub = StubLlm(**options)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        assert not stub.leaks, f"the server's credential reached {stub.url}: {stub.leaks[0].path}"
