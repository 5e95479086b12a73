"""The MCP server (the official SDK's `MCPServer`): four tools over the same services as REST, served two ways
from this one definition.

- Streamable HTTP at `/mcp` inside the API process (`http_endpoint`, mounted by `api/app.py`): same port, same
  body limit, `Authorization: Bearer <key>` with the REST keys (`api/auth.py`), checked for every message.
  Stateless (no session kept between requests), so any replica behind a load balancer answers any request;
  JSON responses rather than SSE, since no tool streams.
- stdio through `rag-service mcp` (`run_stdio`): the local user on the local data dir, or one key's rights
  with `--key`.

Tool errors carry the same sentences as REST's error messages (unknown collection, limits, timeouts); anything
unexpected is logged here and answered with one line, never a stack trace.
"""

# No `from __future__ import annotations`: the tool signatures below are read by the SDK at registration, and
# their bounds come from the settings of the server being built.

import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from rag_service.api.auth import KeyChecker, Principal, UnauthorizedError, load_keys
from rag_service.api.errors import error_response
from rag_service.audit import os_user_actor
from rag_service.chunks import MAX_NEIGHBOURS, MAX_ROW_ID
from rag_service.errors import ConfigurationError, ServiceError
from rag_service.mcp import tools
from rag_service.runtime import Runtime
from rag_service.settings import Settings

log = logging.getLogger(__name__)

SERVER_NAME = "rag-service"
INSTRUCTIONS = (
    "Answers questions from a team's own documents, with citations. Call list_collections to see what you can "
    "read, search to find passages, ask for a cited answer from one collection (pass its conversation_id back with "
    "a follow-up), and read_passage to read around a passage by its chunk id. When ask's status is 'declined', the "
    "documents do not hold the answer: say so rather than guessing."
)
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]

# Who is calling, from the headers of the message (HTTP) or None (stdio).
PrincipalFor = Callable[[Mapping[str, str] | None], Principal]


# Output schemas: what structured content each tool returns.


class CollectionOut(BaseModel):
    name: str
    documents: int = Field(description="Documents indexed.")
    chunks: int = Field(description="Passages (chunks) indexed.")
    embedder: str = Field(description="Embedding model: minilm (English) or multilingual.")
    description: str = Field(description="What it holds: commonest file types and top-level folders.")


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]


class PassageOut(BaseModel):
    rank: int
    collection: str
    path: str = Field(description="File path within the collection.")
    section: str = Field(description="Heading path of the section, 'Title > Subtitle'; may be empty.")
    location: str = Field(description="Readable location: 'guide.pdf p.3', 'deck.pptx slide 7', 'docs/a.md:12-20'.")
    page: int | None = Field(description="Page, slide, sheet or chapter number (see page_unit); null for text files.")
    page_unit: str | None = Field(description="What page counts: page, slide, sheet or chapter.")
    start_line: int | None = Field(description="First line in the file (text files).")
    end_line: int | None = Field(description="Last line in the file (text files).")
    score: float = Field(description="Relevance, higher is better (hybrid: 0.85 x cosine + 0.15 x BM25).")
    chunk_id: int = Field(description="Id for read_passage.")
    chunk_ids: list[int] = Field(description="Every chunk merged into this passage.")
    text: str


class SearchOut(BaseModel):
    query: str
    scope: str = Field(description="What was searched, in words.")
    collections: list[str] = Field(description="The collections searched.")
    merged_across_collections: bool = Field(
        description="True when no collection was named: every readable collection was searched and the "
        "passages merged by score."
    )
    passages: list[PassageOut]


class CitationOut(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    path: str
    section: str
    location: str
    page: int | None
    page_unit: str | None
    start_line: int | None
    end_line: int | None
    chunk_id: int = Field(description="Id for read_passage.")
    quote: str = Field(description="The cited text, quoted from the document.")


class PassageRef(BaseModel):
    rank: int
    location: str
    section: str
    score: float
    chunk_id: int


class AskOut(BaseModel):
    status: str = Field(
        description="answered: written from the passages, cited; partial: the passages found are about the "
        "question but none states what it asks (read them, or say the documents may not answer it); declined: "
        "nothing found is about it."
    )
    answer: str
    citations: list[CitationOut]
    conversation_id: int | None = Field(description="Pass it with a follow-up question.")
    turn_id: int | None
    collection: str
    question: str
    standalone_question: str = Field(description="The question as searched (a follow-up made self-contained).")
    backend: str = Field(description="The answer backend that wrote it.")
    passages: list[PassageRef] = Field(description="The passages retrieved for it, best first.")
    uncited: bool | None = Field(default=None, description="Answered without any valid citation.")
    evidence: dict[str, Any] | None = Field(default=None, description="Why a question was declined, when it was.")


class ChunkOut(BaseModel):
    chunk_id: int
    ordinal: int = Field(description="Position of the chunk in its file.")
    section: str
    location: str
    page: int | None
    page_unit: str | None
    start_line: int | None
    end_line: int | None
    text: str


class ReadPassageOut(BaseModel):
    collection: str
    path: str
    chunk_id: int
    section: str
    location: str = Field(description="The span read: the chunk and its neighbours.")
    text: str = Field(description="The chunk with its neighbours, joined in file order.")
    chunk: ChunkOut
    before: list[ChunkOut]
    after: list[ChunkOut]


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _run(principal_for: PrincipalFor, ctx: Context, body: Callable[[Principal], tools.ToolResult]) -> CallToolResult:
    """A tool call as the caller may make it: its result as structured content plus text, or a tool error with
    the service's sentence."""
    try:
        principal = principal_for(ctx.headers)
        result = body(principal)
    except ServiceError as exc:
        return _error(str(exc))
    except Exception:
        log.exception("MCP tool call failed")
        return _error("internal error: the server could not complete this call (its log has the details)")
    return CallToolResult(content=[TextContent(type="text", text=result.text)], structured_content=result.data)


def build_server(runtime: Runtime, principal_for: PrincipalFor) -> MCPServer:
    settings = runtime.settings
    server = MCPServer(SERVER_NAME, version=_version(), instructions=INSTRUCTIONS, log_level="WARNING")
    reading = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    CollectionName = Annotated[
        str,
        Field(description="A collection name, as list_collections gives it.", json_schema_extra={"maxLength": 64}),
    ]
    Query = Annotated[
        str,
        Field(
            description=f"What to look for: a question or keywords (at most {settings.max_question_chars} characters).",
            json_schema_extra={"minLength": 1, "maxLength": settings.max_question_chars},
        ),
    ]

    @server.tool(
        title="List document collections",
        description=(
            "List the document collections you can search and ask about: each one's name, how many documents and "
            "passages it holds, its embedding model, and a one-line summary of its contents (file types, top-level "
            "folders). Call this first when you do not know which collection to use."
        ),
        annotations=reading,
    )
    def list_collections(ctx: Context) -> Annotated[CallToolResult, CollectionsOut]:
        return _run(principal_for, ctx, lambda p: tools.list_collections(runtime, p))

    @server.tool(
        title="Search documents",
        description=(
            "Find the passages of the documents that best match a query (semantic + keyword search). Returns ranked "
            "passages, each with its file, section, location (page, slide or sheet number, or line range), "
            "relevance score, chunk id and full text. Use it to look things up or gather evidence; use `ask` for a "
            "direct answer with citations, and `read_passage` with a chunk id to read more around a hit. Without "
            "`collection` it searches every collection you can read and merges the passages by score."
        ),
        annotations=reading,
    )
    def search(
        ctx: Context,
        query: Query,
        collection: Annotated[
            CollectionName | None,
            Field(description="Collection to search; omit to search every collection you can read."),
        ] = None,
        top_k: Annotated[
            int | None,
            Field(
                description=f"How many passages to return, 1-100 (default {settings.top_k}).",
                json_schema_extra={"minimum": 1, "maximum": 100},
            ),
        ] = None,
        path_filter: Annotated[
            str | None,
            Field(
                description="Only files under this path prefix ('docs/setup') or matching this glob ('*.md', "
                "'guides/*.pdf').",
                json_schema_extra={"maxLength": tools.MAX_PATH_FILTER_CHARS},
            ),
        ] = None,
    ) -> Annotated[CallToolResult, SearchOut]:
        return _run(principal_for, ctx, lambda p: tools.search(runtime, p, query, collection, top_k, path_filter))

    @server.tool(
        title="Ask a question",
        description=(
            "Answer a question from one collection's documents, with citations. Returns the answer, its status "
            "('answered'; 'partial' when only part of it is supported; 'declined' when the documents do not hold "
            "the answer: then report that, do not guess), the citations (file, location and the quoted text each "
            "claim rests on, with chunk ids for read_passage) and a conversation_id. To ask a follow-up that "
            "depends on this one ('and on Windows?'), pass that conversation_id back."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
    )
    def ask(
        ctx: Context,
        question: Annotated[
            str,
            Field(
                description=f"The question, in any language the collection's documents use (at most "
                f"{settings.max_question_chars} characters).",
                json_schema_extra={"minLength": 1, "maxLength": settings.max_question_chars},
            ),
        ],
        collection: Annotated[CollectionName, Field(description="The collection to answer from.")],
        conversation_id: Annotated[
            int | None,
            Field(
                description="The conversation_id of an earlier ask in this collection, to ask a follow-up in "
                "its context; omit to start a new conversation.",
                json_schema_extra={"minimum": 1, "maximum": MAX_ROW_ID},
            ),
        ] = None,
    ) -> Annotated[CallToolResult, AskOut]:
        return _run(principal_for, ctx, lambda p: tools.ask(runtime, p, question, collection, conversation_id))

    @server.tool(
        title="Read a passage in context",
        description=(
            "Read a passage with its surroundings: the chunk with this id (from search results or citations) and "
            "up to `context` neighbouring chunks before and after it in the same file, joined into one text with "
            "its location. Use it when a hit is cut off or you need the rest of its section."
        ),
        annotations=reading,
    )
    def read_passage(
        ctx: Context,
        chunk_id: Annotated[
            int,
            Field(
                description="A chunk id from search or ask.",
                json_schema_extra={"minimum": 1, "maximum": MAX_ROW_ID},
            ),
        ],
        context: Annotated[
            int,
            Field(
                description=f"Neighbouring chunks to include on each side, 0-{MAX_NEIGHBOURS}.",
                json_schema_extra={"minimum": 0, "maximum": MAX_NEIGHBOURS},
            ),
        ] = 1,
    ) -> Annotated[CallToolResult, ReadPassageOut]:
        return _run(principal_for, ctx, lambda p: tools.read_passage(runtime, p, chunk_id, context))

    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-service")
    except PackageNotFoundError:
        return "0"


# Streamable HTTP inside the API process.


class HttpEndpoint:
    """The ASGI app at `/mcp`: a request without a valid key (when keys are configured) is refused as REST
    refuses it (401, the same error body); every other goes to the SDK's session manager, which the API's
    lifespan runs (`run()`, a fresh manager each time the app starts)."""

    def __init__(self, server: MCPServer, keys: KeyChecker, transport: dict[str, Any], keys_only: bool) -> None:
        self.server, self.keys, self.transport, self.keys_only = server, keys, transport, keys_only
        self.session_manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        self.server.streamable_http_app(**self.transport)  # makes the server's session manager
        manager = self.server.session_manager
        async with manager.run():
            self.session_manager = manager
            try:
                yield
            finally:
                self.session_manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                if self.keys_only and not self.keys.enabled:
                    # People sign in with a browser; tools need a key, and this server has none to check.
                    raise UnauthorizedError("MCP on a server with sign-in needs API keys (RAG_API_KEYS)")
                self.keys.principal(Headers(scope=scope).get("authorization"))
            except UnauthorizedError as exc:
                response = error_response(401, exc.code, str(exc), headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        if self.session_manager is None:
            await error_response(503, "unavailable", "the MCP endpoint is not running")(scope, receive, send)
            return
        await self.session_manager.handle_request(scope, receive, send)


def http_endpoint(runtime: Runtime, keys: KeyChecker) -> HttpEndpoint:
    """With keys, every message is authenticated; with sign-in (RAG_OIDC_*) and no keys, MCP is refused (a tool
    has no browser to sign in with); without either, the server is on loopback only (`serve`), and the
    SDK's DNS-rebinding check keeps a web page that renames itself to 127.0.0.1 out (RAG_MCP_ALLOWED_HOSTS adds
    the names a local reverse proxy forwards)."""
    settings = runtime.settings

    def principal_for(headers: Mapping[str, str] | None) -> Principal:
        return keys.principal(headers.get("authorization") if headers is not None else None)

    extra_hosts = [h.strip() for h in settings.mcp_allowed_hosts.split(",") if h.strip()]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=not keys.enabled,
        allowed_hosts=[*LOOPBACK_HOSTS, *extra_hosts],
        allowed_origins=[*LOOPBACK_ORIGINS, *(f"{scheme}://{h}" for h in extra_hosts for scheme in ("http", "https"))],
    )
    transport = {
        "stateless_http": True,
        "json_response": True,
        "max_request_body_size": int(settings.max_request_body_mb * 1024 * 1024),
        "transport_security": security,
    }
    return HttpEndpoint(build_server(runtime, principal_for), keys, transport, keys_only=settings.oidc_enabled)


# stdio: `rag-service mcp`.


def stdio_principal(settings: Settings, key: str | None) -> Principal:
    """The local user may read everything, as `cli:<user>` in the audit trail; `--key` acts as that key
    (RAG_API_KEYS / RAG_API_KEYS_FILE), under its name."""
    if key is None:
        return Principal(actor=os_user_actor())
    keys = KeyChecker(load_keys(settings))
    if not keys.enabled:
        raise ConfigurationError("--key: no API keys are configured (RAG_API_KEYS or RAG_API_KEYS_FILE)")
    return keys.principal(f"Bearer {key}")


def run_stdio(settings: Settings, key: str | None = None) -> None:
    principal = stdio_principal(settings, key)
    runtime = Runtime(settings)
    server = build_server(runtime, lambda _headers: principal)
    # The embedding model loads while the client starts up, not during its first search.
    threading.Thread(
        target=lambda: runtime.embedders.get(settings.embedder).embed_query("warm up"), name="warm-up", daemon=True
    ).start()
    server.run("stdio")
