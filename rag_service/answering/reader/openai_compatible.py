"""The reader on a team's own server (llama.cpp's server, Ollama, vLLM) through the OpenAI chat API.

Each candidate is one request for one token with its top log-probabilities, read as P(yes); a server that
does not give them is read from the word it wrote (yes 1, no 0). Servers that cache prompts (llama.cpp's,
vLLM's) reuse the instruction and question shared by an ask's requests. Only the operator's configured server
(RAG_OPENAI_BASE_URL) is used, with its key.
"""

from __future__ import annotations

import math
import time

import httpx

from rag_service.answering.base import ChatTurn
from rag_service.answering.prompt import build_reader_messages, build_rewrite_messages
from rag_service.answering.reader.base import Candidate, Verdict
from rag_service.answering.reader.llamacpp import MAX_REWRITE_TOKENS, first_line
from rag_service.errors import BackendUnavailableError

TOP_LOGPROBS = 10


class OpenAIReader:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.timeout = model, timeout
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.logprobs = True  # until the server refuses them

    def describe(self) -> str:
        return f"openai reader at {self.url}"

    def _post(self, body: dict) -> dict:
        try:
            response = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(f"openai reader: {self.url} is not reachable ({exc})") from exc
        if response.status_code >= 400:
            raise BackendUnavailableError(f"openai reader: {self.url} answered HTTP {response.status_code}")
        return response.json()

    def _ask_one_token(self, messages: list[dict[str, str]]) -> dict:
        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0}
        if self.logprobs:
            try:
                return self._post(body | {"logprobs": True, "top_logprobs": TOP_LOGPROBS})
            except BackendUnavailableError:
                self.logprobs = False  # e.g. llama.cpp's server without logits_all: ask for the token alone
        return self._post(body)

    def judge(self, question: str, candidates: list[Candidate]) -> Verdict:
        started = time.perf_counter()
        scores = []
        tokens = 0
        for candidate in candidates:
            reply = self._ask_one_token(build_reader_messages(question, candidate.where, candidate.text))
            scores.append(_yes_probability(reply))
            tokens += int((reply.get("usage") or {}).get("prompt_tokens") or 0)
        seconds = time.perf_counter() - started
        return Verdict(candidates, scores, prompt_tokens=tokens, seconds=seconds, reader=self.name)

    def rewrite(self, question: str, history: list[ChatTurn]) -> str:
        reply = self._post(
            {
                "model": self.model,
                "messages": build_rewrite_messages(question, history),
                "max_tokens": MAX_REWRITE_TOKENS,
                "temperature": 0.0,
            }
        )
        content = reply["choices"][0]["message"].get("content") or ""
        return first_line(str(content)) or question


def _yes_probability(reply: dict) -> float:
    choice = reply["choices"][0]
    yes = no = 0.0
    content = (choice.get("logprobs") or {}).get("content") or []
    if content:
        for entry in content[0].get("top_logprobs") or []:
            word = str(entry.get("token", "")).strip().lower()
            if word in ("yes", "no"):
                p = math.exp(float(entry["logprob"]))
                yes, no = (yes + p, no) if word == "yes" else (yes, no + p)
    if yes + no == 0.0:
        return 1.0 if str(choice.get("message", {}).get("content") or "").strip().lower().startswith("yes") else 0.0
    return yes / (yes + no)
