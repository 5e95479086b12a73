"""One ask, as every front door hands it to `answering/service.py`: REST (`/api/ask`), the OpenAI-compatible
`/v1/chat/completions`, MCP's `ask` tool, the CLI's `ask` and `eval`.

The front door parses its own format, checks who the caller is, and builds this once; the service does the
rest. The answerer in it was built within the caller's policy (`build_answerer(..., policy=)`), the limits are
the caller's (`AskLimits.from_settings` for remote callers, `UNBOUNDED` for the operator at a terminal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag_service.answering.base import Answerer, ChatTurn
from rag_service.conversations import NOBODY, Viewer
from rag_service.limits import UNBOUNDED, AskLimits
from rag_service.retrieval import SearchOptions


@dataclass
class AskRequest:
    collection: str
    question: str
    answerer: Answerer
    options: SearchOptions
    history: list[ChatTurn] = field(default_factory=list)  # sent with the request; else the conversation's turns
    conversation_id: int | None = None  # read as the history when none is sent; the answer is saved as its turn
    # who asks, where a conversation is found: the collections they may read (None: all) and the signed-in
    # person, if any (another person's private conversation is not found; their shared one is not continued)
    viewer: Viewer = NOBODY
    limits: AskLimits = UNBOUNDED
    actor: str | None = None  # who asks, for the audit trail (rag_service/audit.py); None: not recorded (eval)
