"""The reader in process: any GGUF through llama-cpp-python (the bundled Qwen2.5-Coder-1.5B by default).

A judgement is a forward pass per candidate sentence and no sampling: the logits of the next token are read
for "yes" and "no". The instruction and the question open every candidate's prompt, so their KV state stays
in the context and only each sentence is evaluated after them (`_eval_after_common_prefix`). The judgement and
the rewrite each have a llama.cpp context of their own (answering/llamacpp.py), so neither evicts the other's
kept prefix; in a conversation the rewrite's context still holds the earlier turns, evaluated once.
"""

from __future__ import annotations

import time

import numpy as np

from rag_service.answering.base import ChatTurn
from rag_service.answering.llamacpp import load_model
from rag_service.answering.prompt import build_reader_messages, build_rewrite_messages
from rag_service.answering.reader.base import Candidate, Verdict
from rag_service.errors import BackendUnavailableError

MAX_REWRITE_TOKENS = 64


class LlamaCppReader:
    name = "llamacpp"

    def __init__(self, model_path: str, n_ctx: int, threads: int) -> None:
        self.model_path, self.n_ctx, self.threads = model_path, n_ctx, threads

    def describe(self) -> str:
        return f"llamacpp reader ({self.model_path}, {self.threads} threads)"

    def judge(self, question: str, candidates: list[Candidate]) -> Verdict:
        started = time.perf_counter()
        llama, lock = load_model(self.model_path, self.n_ctx, self.threads, use="judge")
        yes = _answer_tokens(llama, ("yes", "Yes", " yes", " Yes"))
        no = _answer_tokens(llama, ("no", "No", " no", " No"))
        prompts = []
        for candidate in candidates:
            prompt = _chat_prompt(llama, build_reader_messages(question, candidate.where, candidate.text))
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            if len(tokens) >= self.n_ctx:
                raise BackendUnavailableError(f"llamacpp reader: a prompt ({len(tokens)} tokens) exceeds n_ctx")
            prompts.append(tokens)
        scores = []
        evaluated = 0
        with lock:
            for tokens in prompts:
                evaluated += _eval_after_common_prefix(llama, tokens)
                logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))
                scores.append(_yes_probability(logits, yes, no))
        return Verdict(
            candidates, scores, prompt_tokens=evaluated, seconds=time.perf_counter() - started, reader=self.name
        )

    def rewrite(self, question: str, history: list[ChatTurn]) -> str:
        llama, lock = load_model(self.model_path, self.n_ctx, self.threads, use="rewrite")
        with lock:
            reply = llama.create_chat_completion(
                messages=build_rewrite_messages(question, history),  # type: ignore[arg-type]
                max_tokens=MAX_REWRITE_TOKENS,
                temperature=0.0,
            )
        return first_line(str(reply["choices"][0]["message"].get("content") or "")) or question


def first_line(text: str) -> str:
    lines = [line.strip().strip('"“”') for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _chat_prompt(llama, messages: list[dict[str, str]]) -> str:  # type: ignore[no-untyped-def]
    """The prompt as the model's own chat template writes it, ending where the assistant's reply begins."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise BackendUnavailableError(f"llamacpp reader: {llama.model_path} has no chat template")
    eos, bos = llama.token_eos(), llama.token_bos()
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
    )
    return formatter(messages=messages).prompt  # type: ignore[arg-type]


def _answer_tokens(llama, spellings: tuple[str, ...]) -> list[int]:  # type: ignore[no-untyped-def]
    """The first token of each spelling of an answer ("yes", "Yes", " yes"...), once each."""
    tokens = {llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)[0] for text in spellings}
    return sorted(tokens)


def _yes_probability(logits: np.ndarray, yes: list[int], no: list[int]) -> float:
    """P(yes) against no, over every spelling of each, from the next token's logits."""
    values = np.array([logits[t] for t in yes + no], dtype=np.float64)
    weights = np.exp(values - values.max())
    return float(weights[: len(yes)].sum() / weights.sum())


def _eval_after_common_prefix(llama, tokens: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Evaluate `tokens`, keeping the KV state of the prefix the context already holds (the instruction); the
    number of tokens evaluated. The last token is always evaluated again: its logits are the judgement."""
    held = llama.input_ids[: llama.n_tokens]
    common = 0
    limit = min(len(held), len(tokens) - 1)
    while common < limit and held[common] == tokens[common]:
        common += 1
    llama.n_tokens = common
    llama.eval(tokens[common:])
    return len(tokens) - common
