"""Which answer backends, LLM servers and models a caller may choose, and where the server's LLM key may go.

The operator at a terminal (the CLI) is trusted and may point the answerer anywhere. An API caller chooses only
among what the operator allowed (RAG_ALLOWED_BACKENDS, RAG_ALLOWED_LLM_BASE_URLS, RAG_ALLOWED_LLM_MODELS); by
default that is the configured backend (plus extractive), the configured base URL and the configured model.
Whoever the caller, the server's RAG_OPENAI_API_KEY goes only to RAG_OPENAI_BASE_URL: another allowed URL is
called without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from rag_service.errors import InvalidInputError, ServiceError
from rag_service.settings import Settings

# The request-level options an API caller may send; the others (api_key, model_path, timeout) are the operator's.
CALLER_OPTIONS = frozenset({"base_url", "model", "max_tokens", "temperature"})


class NotAllowedError(ServiceError):
    code = "not_allowed"
    status = 403


class UnsafeUrlError(InvalidInputError):
    """A base URL whose parts the comparison would not see: the client appends its paths (/chat/completions)
    to the URL as written, so a query or fragment would swallow them and send the request somewhere else."""


def normalise_url(url: str) -> str:
    """Scheme and host are case-insensitive and a trailing slash means nothing: compare URLs in one form. Every
    other part is compared as written, and what the form cannot hold is refused rather than dropped."""
    stripped = url.strip()
    # urlsplit silently removes tabs and newlines, so the URL compared would not be the URL called.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in stripped):
        raise UnsafeUrlError(f"LLM base URL {url!r} has whitespace or control characters in it")
    if "?" in stripped or "#" in stripped:
        raise UnsafeUrlError(
            f"LLM base URL {url!r} has a query string or fragment: the server appends its API paths to the URL, "
            "so give the server's plain http(s)://host[:port]/path"
        )
    try:
        parts = urlsplit(stripped)
    except ValueError as exc:
        raise InvalidInputError(f"not an http(s) URL: {url!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"not an http(s) URL: {url!r}")
    userinfo, at, host = parts.netloc.rpartition("@")
    # One trailing slash only: the client adds one, but "/v1//chat/completions" is another path than "/v1/...".
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    return f"{parts.scheme.lower()}://{userinfo}{at}{host.lower()}{path}"


def _normalised_or_none(url: str) -> str | None:
    try:
        return normalise_url(url)
    except UnsafeUrlError:  # say why, not only "not allowed"
        raise
    except (InvalidInputError, ValueError):  # not a URL at all: allowed by no list
        return None


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class LlmPolicy:
    """None means anything (the trusted CLI); otherwise the allowed choices."""

    backends: frozenset[str] | None = None
    base_urls: frozenset[str] | None = None
    models: frozenset[str] | None = None
    max_tokens: int | None = None  # a caller's max_tokens is capped here

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmPolicy:
        backends = _names(settings.allowed_backends) or [settings.answerer, "extractive"]
        urls = _names(settings.allowed_llm_base_urls) or [settings.openai_base_url]
        models = _names(settings.allowed_llm_models) or [settings.openai_model]
        return cls(
            backends=frozenset(backends),
            base_urls=frozenset(normalise_url(u) for u in urls),
            models=frozenset(models),
            max_tokens=settings.llm_max_tokens,
        )

    @property
    def trusted(self) -> bool:
        return self.backends is None

    def check(self, backend: str, overrides: dict[str, object]) -> dict[str, object]:
        """The overrides this caller may use, or NotAllowedError saying what is allowed."""
        if self.trusted:
            return overrides
        if self.backends is not None and backend not in self.backends:
            raise NotAllowedError(
                f"answer backend {backend!r} is not allowed on this server; allowed: {', '.join(sorted(self.backends))}"
            )
        checked = dict(overrides)
        for key in checked:
            if key not in CALLER_OPTIONS:
                raise NotAllowedError(f"llm option {key!r} is set by the server's operator, not per request")
        base_url = checked.get("base_url")
        if isinstance(base_url, str) and self.base_urls is not None:
            try:
                normalised = _normalised_or_none(base_url)
            except UnsafeUrlError as exc:  # on no list: a refusal, and one that says what is wrong with the URL
                raise NotAllowedError(f"{exc}; allowed: {', '.join(sorted(self.base_urls))}") from exc
            if normalised not in self.base_urls:
                raise NotAllowedError(
                    f"LLM server {base_url!r} is not allowed on this server; "
                    f"allowed: {', '.join(sorted(self.base_urls))}"
                )
        model = checked.get("model")
        if isinstance(model, str) and self.models is not None and model not in self.models:
            raise NotAllowedError(
                f"LLM model {model!r} is not allowed on this server; allowed: {', '.join(sorted(self.models))}"
            )
        max_tokens = checked.get("max_tokens")
        if isinstance(max_tokens, int) and self.max_tokens is not None:
            checked["max_tokens"] = min(max_tokens, self.max_tokens)
        return checked


TRUSTED = LlmPolicy()
