"""Which answer backends work right now, so the API and the UI offer only those.

extractive always works; llamacpp needs its GGUF file and llama-cpp-python (and says whether the model is
loaded yet); openai needs its server to answer `GET {base_url}/models`, checked with a short timeout and the
result kept for a few seconds so that a page load does not wait on a dead server each time.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from rag_service.answering.llamacpp import bundled_model_path, is_loaded
from rag_service.answering.policy import LlmPolicy
from rag_service.settings import Settings


@dataclass
class BackendStatus:
    name: str
    allowed: bool  # the operator lets API callers choose it
    configured: bool  # the settings name what it needs (a model file, a server)
    available: bool | None  # it works now; None when not checked because it is not allowed
    reason: str | None = None  # why it is not usable
    loaded: bool | None = None  # llamacpp: the model is in memory already (the first answer loads it)
    models: list[str] = field(default_factory=list)  # openai: the model names a caller may ask for

    @property
    def usable(self) -> bool:
        return self.allowed and bool(self.available)

    def to_dict(self) -> dict:
        return {**asdict(self), "usable": self.usable}


_PROBES: dict[tuple[str, bool], tuple[float, bool, str | None]] = {}
_PROBES_LOCK = threading.Lock()


def _probe_openai(settings: Settings) -> tuple[bool, str | None]:
    key = (settings.openai_base_url, bool(settings.openai_api_key))
    now = time.monotonic()
    with _PROBES_LOCK:
        cached = _PROBES.get(key)
    if cached is not None and cached[0] > now:
        return cached[1], cached[2]
    headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}
    try:
        response = httpx.get(
            settings.openai_base_url.rstrip("/") + "/models",
            headers=headers,
            timeout=settings.backend_probe_timeout_seconds,
        )
        ok = response.status_code == 200
        reason = None if ok else f"the LLM server answered HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, reason = False, f"the LLM server is not reachable ({type(exc).__name__})"
    with _PROBES_LOCK:
        _PROBES[key] = (now + settings.backend_probe_cache_seconds, ok, reason)
    return ok, reason


def _llamacpp(settings: Settings, allowed: bool) -> BackendStatus:
    path = settings.llamacpp_model_path or bundled_model_path()
    status = BackendStatus("llamacpp", allowed, configured=bool(path), available=None, loaded=is_loaded(path))
    if not allowed:
        return status
    if not path or not Path(path).is_file():
        status.available, status.reason = False, "no GGUF model file (RAG_LLAMACPP_MODEL_PATH)"
    elif importlib.util.find_spec("llama_cpp") is None:
        status.available, status.reason = False, "llama-cpp-python is not installed"
    else:
        status.available = True
    return status


def backend_report(settings: Settings, policy: LlmPolicy) -> list[BackendStatus]:
    def allowed(name: str) -> bool:
        return policy.backends is None or name in policy.backends

    report = [BackendStatus("extractive", allowed("extractive"), configured=True, available=None)]
    report.append(_llamacpp(settings, allowed("llamacpp")))
    openai = BackendStatus(
        "openai",
        allowed("openai"),
        configured=bool(settings.openai_base_url),
        available=None,
        models=sorted(policy.models) if policy.models is not None else [settings.openai_model],
    )
    report.append(openai)
    if report[0].allowed:
        report[0].available = True
    if openai.allowed:
        openai.available, openai.reason = _probe_openai(settings)
    for status in report:
        if not status.allowed:
            status.reason = "not allowed on this server (RAG_ALLOWED_BACKENDS)"
    return report
