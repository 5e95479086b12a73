"""What this server offers the UI, so that it shows only what works: server-folder sync (on only with
RAG_ALLOWED_ROOTS), the question's length limit, and which scripts each embedder reads."""

from __future__ import annotations

from fastapi import APIRouter

from rag_service.api.deps import State
from rag_service.api.schemas import Features
from rag_service.embedders import EMBEDDERS

router = APIRouter(prefix="/api", tags=["features"])

# The writing systems each embedder was trained on: a question in another script finds nothing useful, so the
# UI suggests a collection with an embedder that reads it. Unknown embedders are assumed to read Latin only.
EMBEDDER_SCRIPTS: dict[str, list[str]] = {
    "minilm": ["latin"],
    "multilingual": ["latin", "cjk", "cyrillic", "greek", "arabic", "hebrew", "devanagari", "thai", "hangul"],
}


@router.get("/features", response_model=Features)
def features(state: State) -> dict:
    settings = state.runtime.settings
    return {
        "server_sync": bool(settings.allowed_root_paths()),
        "max_question_chars": settings.max_question_chars,
        "embedder_scripts": {name: EMBEDDER_SCRIPTS.get(name, ["latin"]) for name in EMBEDDERS},
        "auth_required": state.keys.enabled,
        "sign_in": state.auth.sign_in,
    }
